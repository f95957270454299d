# Regenerates extra-renderings.json and builtin/*.txt with Python Jinja2 3.1.6 configured like the
# fixture renderings (fixtures README section 5). Run from this directory:
#   python3 gen-extra-renderings.py /path/to/shared/fixtures/templates ../../../../../main/resources/io/trillium/chat
import json, sys, datetime, glob, os
from jinja2.sandbox import SandboxedEnvironment
from jinja2.exceptions import TemplateError

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(m): raise TemplateError(m)
env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: datetime.datetime(2026, 11, 21, 12, 0, 0).strftime(f)

def render(src, kwargs):
    try:
        return env.from_string(src).render(bos_token="<s>", eos_token="</s>", **kwargs)
    except Exception as e:
        return {"error": str(e), "type": type(e).__name__}

fixtures, builtins = sys.argv[1], sys.argv[2]
templates = {os.path.basename(p)[:-6]: open(p, encoding="utf-8").read()
             for p in sorted(glob.glob(fixtures + "/*.jinja")) + sorted(glob.glob(builtins + "/*.jinja"))}
extra = json.load(open("extra-conversations.json", encoding="utf-8"))
out = {t + "." + k: render(src, conv) for t, src in templates.items() for k, conv in extra.items()}
json.dump(out, open("extra-renderings.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
basic = json.load(open(fixtures + "/expected/conversations.json", encoding="utf-8"))
for p in sorted(glob.glob(builtins + "/*.jinja")):
    name = os.path.basename(p)[:-6]
    for k, conv in basic.items():
        open("builtin/%s.%s.txt" % (name, k), "w", encoding="utf-8").write(render(templates[name], conv))
