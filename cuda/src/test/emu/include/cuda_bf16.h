// Host stand-in for <cuda_bf16.h>: the kernels decode bf16 by hand (common.cuh bf16_at).
#pragma once
