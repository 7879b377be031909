"""The template engine and durations: syntax checks, filters, sandboxing, duration parsing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import nodes

from hlb.compiler.durations import format_duration, parse_duration
from hlb.templating.engine import (
    ENV,
    RenderError,
    check_expression,
    check_template,
    evaluate,
    is_template,
    iter_strings,
    render,
    template_errors,
    unwrap_expression,
)

# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (30, 30),
        (0, 0),
        ("30", 30),
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        ("1w", 604800),
        ("250ms", 1),
        ("1500ms", 2),
        ("1s500ms", 2),
        ("1.5h", 5400),
        (" 5m ", 300),
        ("1h 30m", 5400),
        ("5M", 300),
        (2.5, 3),
    ],
)
def test_parse_duration_accepts(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "  ", "abc", "5x", "30m1h", "1m1m", "-5s", "5", -1, True, "1h-30m", "s", "1.h", "1e3s"]
)
def test_parse_duration_rejects(text: str | int) -> None:
    expected = 5 if text == "5" else None  # a bare number string is seconds
    assert parse_duration(text) == expected


def test_parse_duration_rejects_absurd_lengths() -> None:
    assert parse_duration("9999999d") is None
    assert parse_duration(10**12) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (45, "45s"),
        (90, "1m30s"),
        (5400, "1h30m"),
        (86400, "1d"),
        (93784, "1d2h3m4s"),
        (-60, "-1m"),
        (59.6, "1m"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10 * 365 * 86400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


# --- syntax checks -------------------------------------------------------------------------------


def test_is_template() -> None:
    assert is_template("{{ x }}") and is_template("{% if x %}y{% endif %}") and is_template("{# note #}")
    assert not is_template("plain text") and not is_template("${secret:TOKEN}") and not is_template("{ x }")


def test_check_template_accepts_valid_syntax() -> None:
    assert check_template("Updated {{ now | datetime }} by {{ user.name | default('someone') }}") is None
    assert check_template("{% for n in sources.nodes %}{{ n.name }}{% endfor %}") is None
    assert check_template("{{ 1536 | bytes }} {{ 0.5 | percent }} {{ 90 | duration }}") is None


def test_check_template_names_the_line_inside_the_template() -> None:
    message = check_template("first line\n{% for x in y %}\n{{ x }")
    assert message is not None
    assert "line 3 of the template" in message and "{{ x }" in message and "fix the Jinja syntax" in message


def test_check_template_suggests_a_filter() -> None:
    message = check_template("{{ now | datetme }}")
    assert message is not None and "no filter named 'datetme'" in message and "'datetime'" in message


def test_check_template_reports_unclosed_blocks() -> None:
    message = check_template("{% if x %}yes")
    assert message is not None and "endif" in message


# Pieces that make templates with tricky lexing: braces, quotes, whitespace control, blocks.
_TEMPLATE_PIECES = st.sampled_from(
    [
        "{{", "}}", "{", "}", "{%", "%}", "{#", "#}", "-", "'", '"', " ", "\n", "x", "user.name",
        "| upper", "| nope", "{{ x }}", "{{ 'a}}' }}", "{{- x -}}", "[1]", "(", ")", ":", "text",
    ]
)


@given(st.lists(_TEMPLATE_PIECES, max_size=12).map("".join))
def test_the_per_tag_check_agrees_with_parsing_the_whole_template(source: str) -> None:
    from jinja2 import TemplateSyntaxError

    try:
        parsed = ENV.parse(source)
        unknown = [
            node.name
            for node in parsed.find_all((nodes.Filter, nodes.Test))
            if node.name not in (ENV.filters if isinstance(node, nodes.Filter) else ENV.tests)
        ]
        valid = not unknown
    except TemplateSyntaxError:
        valid = False
    assert (check_template(source) is None) == valid


def test_templates_sharing_tags_are_checked_per_tag() -> None:
    assert check_template("Hi {{ user.name }}, it is {{ now | datetime }} } {") is None
    assert check_template("a }} b {{ x }}") is None  # a stray }} in text is text
    message = check_template("line one\nHi {{ user.name | nope }}")
    assert message is not None and "no filter named 'nope'" in message
    message = check_template("line one\n{{ x ")
    assert message is not None and "line 2 of the template" in message
    assert check_template("{{ '}}' }}") is None  # a }} inside a string: the whole template decides


def test_check_expression() -> None:
    assert check_expression("steps.call.status == 200") is None
    assert check_expression("{{ steps.call.status == 200 }}") is None  # the braces people add are allowed
    message = check_expression("status = 200")
    assert message is not None and "status = 200" in message
    assert check_expression("{{ }}") is not None


def test_unwrap_expression() -> None:
    assert unwrap_expression("{{ a == 1 }}") == "a == 1"
    assert unwrap_expression("  a == 1 ") == "a == 1"
    assert unwrap_expression("{{ a }} and {{ b }}") == "{{ a }} and {{ b }}"
    assert unwrap_expression(unwrap_expression("{{ a }}")) == "a"


def test_iter_strings_and_template_errors() -> None:
    value = {"a": ["x", {"b": "{{ y }"}], "c": 3}
    assert list(iter_strings(value, ("spec",))) == [
        (("spec", "a", 0), "x"),
        (("spec", "a", 1, "b"), "{{ y }"),
    ]
    errors = list(template_errors(value, ("spec",)))
    assert [path for path, _ in errors] == [("spec", "a", 1, "b")]
    assert errors[0][1].startswith("spec.a[1].b: line 1 of the template")


# --- rendering -----------------------------------------------------------------------------------


def test_render_plain_strings_unchanged() -> None:
    assert render("no markers here\n", {}) == "no markers here\n"


def test_render_with_context_and_filters() -> None:
    now = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    context = {"now": now, "user": {"name": "ada"}, "size": 1536, "ratio": "0.4234", "up": 5400}
    text = "{{ user.name }} {{ now | datetime }} {{ size | bytes }} {{ ratio | percent }} {{ up | duration }}"
    assert render(text, context) == "ada 2024-05-01 12:30 UTC 1.5 KiB 42.3% 1h30m"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ t | datetime('R') }}", "<t:1714566600:R>"),
        ("{{ t | datetime('%H:%M') }}", "12:30"),
        ("{{ '2024-05-01T12:30:00Z' | datetime('%d.%m.%Y') }}", "01.05.2024"),
        ("{{ 1714566600000 | datetime('%Y') }}", "2024"),
        ("{{ 512 | bytes }}", "512 B"),
        ("{{ 1500 | bytes(false) }}", "1.5 kB"),
        ("{{ (5 * 1024 ** 4) | bytes }}", "5.0 TiB"),
        ("{{ 3 | percent(4, 0) }}", "75%"),
        ("{{ '2h' | duration }}", "2h"),
        ("{{ missing | default('n/a') }}", "n/a"),
        ("{{ sources.nodes.data.result | default(0) }}", "0"),
        ("{{ 'yes' if steps.call is defined else 'no' }}", "no"),
        ("{{ nothing }}", ""),
    ],
)
def test_filters_and_undefined(template: str, expected: str) -> None:
    context = {
        "t": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        "sources": {"nodes": {}},
        "steps": {},
        "nothing": None,
    }
    assert render(template, context) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{ missing }}",  # printing an undefined value is an error, not an empty string
        "{% if missing %}x{% endif %}",
        "{{ user.nickname }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ user.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ items.append(1) }}",
        "{{ 'a' * 10**9 }}",
        "{{ 2 ** 100000 }}",
        "{{ 'x' | datetime }}",
        "{{ 'lots' | bytes }}",
        "{{ 1 | percent(0) }}",
        "{{ 1 / 0 }}",
        "{{ x }",
    ],
)
def test_render_errors_are_render_errors(template: str) -> None:
    with pytest.raises(RenderError):
        render(template, {"user": {"name": "ada"}, "items": []})


def test_render_caps_output() -> None:
    with pytest.raises(RenderError, match="more than 100 characters"):
        render("{% for i in range(50) %}abc{% endfor %}", {}, limit=100)


def test_evaluate() -> None:
    context = {"steps": {"call": {"status": 200}}}
    assert evaluate("steps.call.status == 200", context) is True
    assert evaluate("{{ steps.call.status != 200 }}", context) is False
    assert evaluate("steps.other.status", context) is None
    with pytest.raises(RenderError):
        evaluate("steps.call.status ==", context)
