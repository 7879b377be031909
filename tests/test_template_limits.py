"""Template limits (hlb.templating.limits): each refused fast and small, at render and validate.

Every render here runs on the real sandboxed engine; each test is bounded in time (pytest-timeout)
and in memory (tracemalloc's peak while the template runs), so a limit that stops working fails
the test instead of taking gigabytes or minutes.
"""

from __future__ import annotations

import contextvars
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from bounded import bounded

from hlb.templating import limits
from hlb.templating.engine import RenderError, check_expression, check_template, evaluate, render

ROOT = Path(__file__).resolve().parent.parent
NESTED = "{% for a in range(N) %}{% for b in range(N) %}{% endfor %}{% endfor %}done"

pytestmark = pytest.mark.timeout(60)


def refused(source: str, context: dict[str, Any] | None = None, **bounds: Any) -> str:
    with bounded(**bounds), pytest.raises(RenderError) as caught:
        render(source, context or {})
    return str(caught.value)


# --- the issue's three examples, at render time (with data, so no static check sees them) ----------


@pytest.mark.parametrize(
    ("source", "context", "limit"),
    [
        ("{{ 'x' * n }}", {"n": 10**9}, "value size"),
        ("{{ 'x' * 10 ** n }}", {"n": 9}, "value size"),
        ("{{ lipsum(n) }}", {"n": 10**6}, "lipsum"),
        ("{{ lipsum(1, false, 1, n) }}", {"n": 10**9}, "lipsum"),
        ("{{ range(n) | list | length }}", {"n": 10**9}, "range"),
        (NESTED.replace("N", "n"), {"n": 10_000}, "loop iterations"),
        ("{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}", {"xs": list(range(5000))}, "loop"),
    ],
)
def test_the_issue_examples_are_refused_fast_and_small(
    source: str, context: dict[str, Any], limit: str
) -> None:
    message = refused(source, context)
    assert message.startswith(f"over the template limit on {limit}"), message


def test_integer_size_is_capped() -> None:
    assert render("{{ 2 ** 4000 > 0 }} {{ (10 ** 300) * (10 ** 300) > 0 }}", {}) == "True True"
    assert "integer size" in refused("{{ 10 ** n }}", {"n": 10**6})
    assert "integer size" in refused("{{ 3 ** n }}", {"n": 10**400})  # too large for a float estimate
    squaring = "{% set ns = namespace(a=3) %}{% for i in range(40) %}{% set ns.a = ns.a * ns.a %}{% endfor %}"
    assert "integer size" in refused(squaring)


def test_values_built_by_doubling_are_capped() -> None:
    for op in ("~", "+"):
        source = "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s OP ns.s %}"
        source += "{% endfor %}"
        assert "value size" in refused(source.replace("OP", op))


@pytest.mark.parametrize(
    "source",
    [
        "{{ s.center(n) }}",
        "{{ s | center(n) }}",
        "{{ s.ljust(n) }}",
        "{{ ('\t' * 1000).expandtabs(n) }}",
        "{{ ('x' * 100000).replace('x', 'yy') }}",
        "{{ ('\n' * 1000) | indent(n) }}",
        "{{ ('x' * 100000) | replace('x', s * 1000) }}",
        "{{ ('x' * 10000).join(range(10000) | map('string')) }}",
        "{{ range(10000) | join('x' * 10000) }}",
        "{{ '%0*d' % (n, 1) }}",
        "{{ '%01000000000d' | format(1) }}",
        "{{ '{:>1000000000}'.format(1) }}",
        "{{ '{:{}}'.format(1, n) }}",
        "{{ [1] | batch(n, 0) | list }}",
        "{{ [1] | slice(n) | list }}",
        "{{ [1, [2]] | tojson(n) }}",
        "{{ (1).to_bytes(n, 'big') }}",
        "{{ ['x'] | map('center', n) | list }}",
    ],
)
def test_methods_and_filters_that_grow_a_value_are_capped(source: str) -> None:
    assert "value size" in refused(source, {"s": "x", "n": 10**9})


def test_total_output_and_text_written_along_the_way_are_capped() -> None:
    assert "on output" in refused("{% for i in range(10) %}{{ 'x' * 20000 }}{% endfor %}")
    built = "{% set s %}{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}{% endset %}{{ s | length }}"
    assert "on output: the template writes or builds more than" in refused(built)
    macro = "{% macro m() %}{{ 'x' * 100000 }}{% endmacro %}"
    macro += "{% for i in range(1000) %}{% set _ = m() %}{% endfor %}"
    assert "on output" in refused(macro)
    mapped = "{{ range(10000) | map('string') | map('center', 100000) | list | length }}"
    assert "on output: the template writes or builds more than" in refused(mapped)
    grow = ["'x' * 100000", "big ~ 'y'", "big + 'y'", "'x'.center(100000)"]
    grow += ["big[:50000] | replace('x', 'xy')", "'%100000s' % 1", "'{:>100000}'.format(1)"]
    for op in grow:
        looped = f"{{% for i in range(100) %}}{{% set x = {op} %}}{{% endfor %}}"
        message = refused(looped, {"big": "x" * 99_000})
        assert "on output: the template writes or builds more than" in message, op
    ordinary = "{% for i in range(5000) %}{% set x = ('-' * 20) ~ i %}{{ x | length }}{% endfor %}"
    assert len(render(ordinary, {})) > 0


def test_time_per_render_is_capped_cooperatively() -> None:
    tree = "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}"
    busy = "{% for i in range(9000) %}{{ range(9000) | sum }}{% endfor %}"

    def capped(seconds: float) -> None:
        limits.limit_time(seconds)  # in a context of its own (below): no other test sees it
        started = time.thread_time()  # the budget is this thread's CPU time: a busy machine changes nothing
        assert refused(tree) == f"over the template limit on time: the render took longer than {seconds:g} s"
        assert time.thread_time() - started < seconds + 0.5
        assert refused(busy, seconds=seconds + 1.5).startswith("over the template limit on")

    contextvars.copy_context().run(capped, 0.3)  # what a bot may set; 1 s by default


def test_when_expressions_are_limited_too() -> None:
    assert evaluate("range(n) | list | length > 3", {"n": 10}) is True
    with bounded(), pytest.raises(RenderError, match="over the template limit on value size"):
        evaluate("('x' * n) | length > 3", {"n": 10**9})


def test_ordinary_templates_still_render() -> None:
    source = (
        "{% for a in range(3) %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}!{% endif %}{% endfor %}"
        "{% for b in [] %}x{% else %} empty{% endfor %} "
        "{% for c in range(5) if c is odd %}{{ c }}{% endfor %}"
        " {{ 'ab'.center(6) }}|{{ '%05.1f' % 2.5 }}|{{ '{:>4}'.format(1) }}|{{ [1, 2] | join(',') }}"
        "|{{ 'a b' | replace('a', 'c') }}|{{ 'x' ~ 'y' }}|{{ 2 ** 100 }}"
        "|{{ lipsum(2, false) | wordcount > 0 }}"
    )
    assert render(source, {}) == (
        "1/32/33/3! empty 13   ab  |002.5|   1|1,2|c b|xy|1267650600228229401496703205376|True"
    )
    rows = [{"name": f"n{i}", "up": i % 2} for i in range(2000)]
    assert render("{% for r in rows if r.up %}{{ r.name[-1] }}{% endfor %}", {"rows": rows}).count("1") == 200


# --- at validate: what is visible without data ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "limit"),
    [
        ("{{ 'x' * 10**9 }}", "value size"),
        ("{{ lipsum(10**6) }}", "lipsum"),
        ("{{ lipsum(n=10**6) }}", "lipsum"),
        ("{% for i in range(10**9) %}{% endfor %}", "range"),
        (NESTED.replace("N", "10000"), "loop iterations"),
        ("{% for i in range(100) %}{% for j in 'abcdefghij' * 1000 %}{% endfor %}{% endfor %}", "loop"),
        ("{{ 2 ** 10000 }}", "integer size"),
        ("{{ 'x' | center(10**9) }}", "value size"),
        ("{{ '%01000000000d' % 1 }}", "value size"),
    ],
)
def test_validate_sees_constant_templates_over_a_limit(source: str, limit: str) -> None:
    with bounded(seconds=2.0, mib=10):
        message = check_template(f"first line\n{source}")
    assert message is not None
    assert message.startswith(f"line 2 of the template: over the template limit on {limit}"), message


def test_validate_leaves_data_and_small_constants_alone() -> None:
    for source in (
        "{{ 'x' * n }}",
        "{{ '-' * 20 }} {{ lipsum(2) }} {{ range(10) | list }} {{ 2 ** 64 }}",
        NESTED.replace("N", "100"),
        "{% for a in sources.x %}{% for b in range(10000) %}{% endfor %}{% endfor %}",
        "{{ -'x' }} {{ 1 / 0 }} {{ 'a' % 1 }}",  # errors of their own, found when rendered
    ):
        assert check_template(source) is None, source
    assert check_expression("steps.call.status == 200 and range(3) | length == 3") is None
    message = check_expression("{{ ('x' * 10**9) | length > 0 }}")
    assert message is not None and "over the template limit on value size" in message


def test_hlb_validate_reports_a_limit_at_the_template_line(tmp_path: Path) -> None:
    spec = """\
apiVersion: hlb/v1
kind: Guild
name: home
spec: {id: "123456789012345678"}
---
apiVersion: hlb/v1
kind: Channel
name: board
---
apiVersion: hlb/v1
kind: Dashboard
name: board
spec:
  channel: board
  content: "{{ lipsum(10**6) }}"
  embeds:
    - title: "{{ 'x' * 10**9 }}"
      description: |
        {% for i in range(10000) %}
        {% for j in range(10000) %}{% endfor %}
        {% endfor %}
---
apiVersion: hlb/v1
kind: Workflow
name: flow
spec:
  steps:
    - {when: "range(10**9) | length > 0", reply: hi}
"""
    (tmp_path / "all.yaml").write_text(spec, encoding="utf-8")
    code = "from hlb.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", "all.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    lines = done.stdout.splitlines()
    expected = {
        "all.yaml:15:3: E501 spec.content: line 1 of the template: OVER lipsum",
        "all.yaml:17:7: E501 spec.embeds[0].title: line 1 of the template: OVER value size",
        "all.yaml:18:7: E501 spec.embeds[0].description: line 2 of the template: OVER loop",
        "all.yaml:28:8: E501 spec.steps[0].when: the expression is OVER range",
    }
    for start in (line.replace("OVER", "over the template limit on") for line in expected):
        assert any(line.startswith(start) for line in lines), (start, lines)


def test_the_limits_are_documented() -> None:
    doc = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8").replace(",", "")
    names = [name for name in dir(limits) if name.startswith("MAX_")]
    assert len(names) == 8
    for name in names:
        value = getattr(limits, name)
        assert f"`{name}` | {value if isinstance(value, int) else f'{value:g}'} " in doc, name


# --- the bot: a dashboard over a limit fails alone --------------------------------------------------

# Data-driven (``now`` is 2026 in the test world), so validate cannot see them and the bot must.
BOMB = """\
---
apiVersion: hlb/v1
kind: Dashboard
name: bomb
spec:
  channel: alerts
  content: "{{ 'x' * (now.year * 100000) }}"
  embeds:
    - title: "{{ lipsum(now.year * 1000) }}"
      description: "{% for a in range(now.year) %}{% for b in range(now.year) %}{% endfor %}{% endfor %}"
      fields:
        - {name: fine, value: "still {{ now.year }}"}
"""


def test_the_bot_renders_a_dashboard_over_a_limit_as_markers_and_goes_on(db_url: str, tmp_path: Path) -> None:
    from reconcile_world import World, only_ok, run_world

    messages = "/channels/{channel_id}/messages"

    async def scenario(w: World) -> None:
        with (w.specs / "dashboards.yaml").open("a", encoding="utf-8") as specs:
            specs.write(BOMB)
        w.apply()
        with bounded(seconds=40, mib=150):
            report = only_ok(await w.reconcile())
        bomb = [p for p in report.problems if "bomb" in p]
        assert len(bomb) == 3, report.problems
        cases = (("content", "value size"), ("title", "lipsum"), ("description", "loop iterations"))
        for where, limit in cases:
            assert any(f"{where}: over the template limit on {limit}" in p for p in bomb), (where, bomb)
        posted = [c.body for c in w.emu.writes(messages, "POST")]
        assert len(posted) == 4  # the three reference dashboards and the bomb
        (body,) = [b for b in posted if b["content"].startswith("⚠ render error")]
        assert "over the template limit on value size" in body["content"]
        (embed,) = body["embeds"]
        assert embed["title"].startswith("⚠ render error: over the template limit on lipsum")
        assert embed["fields"][0]["value"] == "still 2026"
        assert w.binding("Dashboard", "bomb").status == "in_sync"
        assert w.binding("Dashboard", "server-status").status == "in_sync"

    run_world(db_url, tmp_path, scenario)


def test_a_dashboards_templates_share_a_time_budget(tmp_path: Path) -> None:
    from hlb.compiler.compile import compile_paths
    from hlb.reconciler.state import RenderedMessage
    from hlb.runtime.render import render_dashboard

    slow = "{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}"
    fields = "".join(f"        - {{name: f{i}, value: '{slow}'}}\n" for i in range(8))
    (tmp_path / "all.yaml").write_text(
        'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n---\n'
        "apiVersion: hlb/v1\nkind: Channel\nname: board\n---\n"
        "apiVersion: hlb/v1\nkind: Dashboard\nname: slow\nspec:\n  channel: board\n"
        f"  content: fine\n  embeds:\n    - title: Slow\n      fields:\n{fields}",
        encoding="utf-8",
    )
    result = compile_paths([tmp_path], {})
    assert result.model is not None, [str(d) for d in result.diagnostics]
    (obj,) = result.model.of_kind("Dashboard")
    assert (limits.render_seconds(), limits.message_seconds()) == (1.0, 3.0)  # unless a bot says less

    def render_within(seconds: float) -> tuple[float, RenderedMessage]:
        limits.limit_time(seconds)  # in a context of its own (below): no other test sees it
        started = time.thread_time()  # CPU time of this thread, which renders: what the budget counts
        message = render_dashboard(obj, {})
        return time.thread_time() - started, message

    took, message = contextvars.copy_context().run(render_within, 0.3)  # 0.3 s each, 0.9 s together
    assert 0.9 <= took < 0.9 + 1.0, took
    assert len(message.problems) == 8 and message.payload["content"] == "fine"
    alone = [p for p in message.problems if "the render took longer than 0.3 s" in p]
    together = [p for p in message.problems if "templates took longer than 0.9 s together" in p]
    assert len(alone) == 2 and len(together) == 6, message.problems  # the third starts at 0.6 s
    assert limits.render_seconds() == 1.0
