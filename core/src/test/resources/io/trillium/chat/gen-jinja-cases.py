# Regenerates jinja-cases.json with Python Jinja2 3.1.6 configured like the fixture renderings:
#   python3 gen-jinja-cases.py jinja-cases.json
import json, sys, datetime
from jinja2.sandbox import SandboxedEnvironment
from jinja2.exceptions import TemplateError
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(m): raise TemplateError(m)
env = SandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda f: datetime.datetime(2026,11,21,12,0,0).strftime(f)
def render(tpl_src, kwargs):
    return env.from_string(tpl_src).render(bos_token="<s>", eos_token="</s>", **kwargs)

cases = [
 ("ws-trim-lstrip", "a\n  {% if x %}\n    b\n  {% endif %}\nc\n", {"x": True}),
 ("ws-dash", "a  {{- x -}}  b\n{%- if x %} c {% endif -%}\n d", {"x": 1}),
 ("ws-plus", "a\n  {%+ if x +%}\nb\n{% endif %}", {"x": 1}),
 ("ws-comment", "a\n  {# note #}\nb {#- x -#} c", {}),
 ("ws-var-no-lstrip", "x\n  {{ y }}\n  z", {"y": "Y"}),
 ("raw", "{% raw %}{{ not parsed }}{% endraw %}!", {}),
 ("trailing-newline", "hello\n", {}),
 ("str-of-values", "{{ none }}|{{ true }}|{{ [1, 'a', none, false] }}|{{ {'k': 'v', 'n': 1.5} }}|{{ 1.0 }}|{{ 1e20 }}|{{ 0.0001 }}|{{ 0.00001 }}|{{ 7 // 2 }}|{{ 7 / 2 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}", {}),
 ("repr-quotes", "{{ [\"it's\", 'say \"hi\"', 'a\\nb'] }}", {}),
 ("tojson-kwargs", "{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ x | tojson(separators=(',', ':')) }}|{{ x | tojson(sort_keys=true) }}|{{ x | tojson(ensure_ascii=true) }}|{{ {} | tojson(indent=2) }}|{{ [] | tojson }}",
   {"x": {"b": [1, 2.5, None, True, "é\"\\\n\u0001"], "a": {}, "c": "日本"}}),
 ("tojson-floats", "{{ [0.1, 1e-7, 123456789012345678.0, 3.0, -0.5, 1e16, 1e15] | tojson }}", {}),
 ("slicing", "{{ x[1:] }}|{{ x[:-1] }}|{{ x[::-1] }}|{{ x[::2] }}|{{ s[1:3] }}|{{ s[::-1] }}|{{ x[-1] }}|{{ s[0] }}|{{ x[5:] }}|{{ x[-10:2] }}", {"x": [1, 2, 3, 4], "s": "héllo"}),
 ("string-methods", "{{ s.startswith('ab') }}{{ s.endswith(('x', 'yz')) }}|{{ s.split(',') }}|{{ s.split(',', 1) }}|{{ ' a  b '.split() }}|{{ '\\n\\nx\\n'.strip('\\n') }}|{{ '  x '.lstrip() }}|{{ 'xx'.rstrip('x') }}|{{ s.upper() }}|{{ 'a-b'.replace('-', '+') }}|{{ 'hello world'.title() }}|{{ ', '.join(['a', 'b']) }}|{{ s.rsplit(',', 1) }}",
   {"s": "ab,cd,xyz"}),
 ("filters", "{{ s | trim }}|{{ x | length }}|{{ s | length }}|{{ x | join('-') }}|{{ x | first }}|{{ x | last }}|{{ u | default('d') }}|{{ '' | default('d', true) }}|{{ x | reverse | list }}|{{ [3, 1, 2] | sort }}|{{ x | map('string') | join }}|{{ [1, 2, 3, 4] | select('odd') | list }}|{{ [1, 2, 3] | reject('equalto', 2) | list }}|{{ m | items | list }}|{{ m | dictsort }}|{{ 'Ab' | lower }}{{ 'ab' | upper }}|{{ '3' | int + 1 }}|{{ ms | selectattr('a') | list }}|{{ ms | map(attribute='a') | list }}|{{ [1, 1, 2] | unique | list }}|{{ 'a\\nb' | indent(2) }}|{{ x | sum }}|{{ x | max }}",
   {"s": "  hi  ", "x": [1, 2, 3], "m": {"b": 2, "a": 1}, "ms": [{"a": 1}, {"a": 0}, {"a": 2}]}),
 ("tests", "{{ x is defined }}{{ u is defined }}{{ u is undefined }}{{ n is none }}{{ s is string }}{{ m is mapping }}{{ x is sequence }}{{ s is sequence }}{{ m is sequence }}{{ u is iterable }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ x is not string }}{{ 1 is number }}{{ true is boolean }}{{ false is false }}{{ 'a' is in 'abc' }}{{ 2 is equalto 2 }}{{ 1.5 is float }}{{ 1 is integer }}",
   {"x": [1], "n": None, "s": "s", "m": {}}),
 ("operators", "{{ 1 + 2 * 3 }}|{{ 'a' ~ 1 ~ none }}|{{ [1] + [2] }}|{{ 'ab' * 2 }}|{{ 2 in [1, 2] }}{{ 'z' not in 'abc' }}{{ 'k' in {'k': 1} }}|{{ 1 < 2 < 3 }}|{{ not 1 == 2 }}|{{ none or 'x' }}|{{ 0 and 'y' }}|{{ 'a' if false }}|{{ 'a' if false else 'b' }}|{{ -x|abs }}|{{ (1, 2) }}|{{ 1 == 1.0 }}|{{ [1, 2] == [1, 2] }}", {"x": 3}),
 ("loop", "{% for a in x %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('o', 'e') }};{% endfor %}", {"x": ["a", "b", "c"]}),
 ("loop-else-filter-controls", "{% for a in [] %}x{% else %}empty{% endfor %}|{% for a in range(10) if a is odd %}{% if a > 6 %}{% break %}{% endif %}{% if a == 3 %}{% continue %}{% endif %}{{ a }}{{ loop.index }},{% endfor %}|{% for k, v in m.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in m %}{{ k }}{% endfor %}|{% for c in 'ab' %}{{ c }}.{% endfor %}",
   {"m": {"x": 1, "y": 2}}),
 ("scoping", "{% set a = 1 %}{% for i in range(3) %}{% set a = a + i %}{{ a }}{% endfor %}|{{ a }}|{% if true %}{% set b = 2 %}{% endif %}{{ b }}|{% set ns = namespace(n=0, l=[]) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% set _ = ns.l.append(i) %}{% endfor %}{{ ns.n }}{{ ns.l }}{{ ns.l.pop(0) }}{{ ns.l }}", {}),
 ("loop-scope-per-iteration", "{% set y = 5 %}{% for i in range(3) %}{% if loop.first %}{% set x = 1 %}{% set y = 1 %}{% endif %}[{{ x }}{{ y }}]{% endfor %}", {}),
 ("tuples", "{{ (1, 2) }}{{ (1,) }}{{ () }}{{ {'a': 1} | items | list }}", {}),
 ("macros", "{% macro greet(name, punct='!') -%}Hi {{ name }}{{ punct }}{%- endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C') }}{% macro uses_global() %}{{ g }}{% endmacro %}{% set g = 'G' %}[{{ uses_global() }}]", {}),
 ("set-block", "{% set x %}  a {{ 1 + 1 }} {% endset %}[{{ x }}]{% set p, q = 1, 2 %}{{ p }}{{ q }}", {}),
 ("dict-access", "{{ m.get('a') }}{{ m.get('z', 'dflt') }}{{ m.get('z') }}{{ m['a'] }}{{ m.a }}{{ m.items() | list }}{{ m.keys() | list }}{{ m.values() | list }}{{ m.z is defined }}{{ m['z'] is defined }}{{ 'a' in m }}", {"m": {"a": 1}}),
 ("filter-block", "{% filter upper %}abc {{ x }}{% endfilter %}", {"x": "d"}),
 ("strftime", "{{ strftime_now('%Y-%m-%d %H:%M:%S %b %B %a %A %d %y %j %I %p') }}|{{ strftime_now('%-d %b %Y') }}", {}),
 ("unicode", "{{ s | length }}{{ s[1] }}{{ s | upper }}{{ s | tojson }}{{ s | tojson(ensure_ascii=true) }}", {"s": "a😀ß"}),
 ("raise", "{% if x %}{{ raise_exception('bad x: ' ~ x) }}{% endif %}ok", {"x": 5}),
 ("undefined-attr-error", "{{ u.field }}", {}),
 ("syntax-error", "line1\n{% if %}", {}),
]
out=[]
for name, tpl, vars in cases:
    try:
        r = env.from_string(tpl).render(**vars)
        out.append({"name": name, "template": tpl, "vars": vars, "expected": r})
    except TemplateError as e:
        out.append({"name": name, "template": tpl, "vars": vars, "error": str(e), "errorType": type(e).__name__})
    except Exception as e:
        out.append({"name": name, "template": tpl, "vars": vars, "error": str(e), "errorType": type(e).__name__})
json.dump(out, open(sys.argv[1] if len(sys.argv) > 1 else 'jinja-cases.json', 'w', encoding='utf-8'), ensure_ascii=False, indent=1)
for o in out: print(o["name"], repr(o.get("expected", "ERR " + o.get("errorType","")+": "+o.get("error",""))))
