#!/usr/bin/env python3
"""Writes the i-quant codebooks (the lattice points every IQ1/IQ2/IQ3 block indexes; part of the GGUF
format, defined in ggml's ggml-common.h) as one little-endian binary file, in this order:
iq2xxs_grid (256 x u64), iq2xs_grid (512 x u64), iq2s_grid (1024 x u64), iq3xxs_grid (256 x u32),
iq3s_grid (512 x u32), iq1s_grid (2048 x u64). Byte j of an entry is the entry's element j.

Usage: extract-iq-grids.py LLAMA_CPP_DIR OUT (LLAMA_CPP_DIR: an export of llama.cpp 34af94c, e.g. from
../shared/tools/build-llama-oracle.sh; OUT: quant/src/main/resources/io/trillium/quant/block/iq-grids.bin).
"""
import re
import struct
import sys

ORDER = [("iq2xxs_grid", "Q", 256), ("iq2xs_grid", "Q", 512), ("iq2s_grid", "Q", 1024),
         ("iq3xxs_grid", "I", 256), ("iq3s_grid", "I", 512), ("iq1s_grid", "Q", 2048)]

src = open(sys.argv[1] + "/ggml/src/ggml-common.h").read()
out = bytearray()
for name, fmt, count in ORDER:
    m = re.search(r"GGML_TABLE_BEGIN\(\w+, " + name + r", \w+\)(.*?)GGML_TABLE_END\(\)", src, re.S)
    values = [int(v, 16) for v in re.findall(r"0x[0-9a-fA-F]+", m.group(1))]
    if len(values) != count:
        sys.exit(f"{name}: {len(values)} entries, expected {count}")
    out += struct.pack("<%d%s" % (count, fmt), *values)
open(sys.argv[2], "wb").write(out)
print(f"wrote {len(out)} bytes to {sys.argv[2]}")
