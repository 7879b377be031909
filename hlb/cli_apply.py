"""What `hlb apply` and `hlb rollback` share: their flags, asking before deletes, reading a saved plan.

On a terminal an apply whose plan deletes anything shows the plan and asks
``Apply? [y/N]`` (``--auto-approve`` skips the question). When nobody is
asked, a mass delete (``hlb.plans.render``) is refused unless
``--allow-mass-delete`` is given. Creating and updating never ask.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hlb.compiler.durations import UNITS_HELP, parse_duration

DEFAULT_LOCK_TIMEOUT = "5m"


class Declined(Exception):
    """The person at the terminal answered no."""

    def __init__(self) -> None:
        super().__init__("apply cancelled at the prompt; nothing was changed")


class Duration(click.ParamType):
    """A duration option (``30s``, ``5m``, ``1h``, or seconds) as float seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        seconds = parse_duration(str(value))
        if seconds is None:
            self.fail(f"{value!r} is not a duration: {UNITS_HELP}", param, ctx)
        return float(seconds)


def apply_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--auto-approve, --allow-mass-delete and --lock-timeout."""
    for option in reversed(
        (
            click.option("--auto-approve", is_flag=True, help="Never ask, even on a terminal."),
            click.option(
                "--allow-mass-delete",
                is_flag=True,
                help="Apply, without asking, a plan that deletes a Guild or 10+ objects and over a quarter.",
            ),
            click.option(
                "--lock-timeout",
                type=Duration(),
                default=DEFAULT_LOCK_TIMEOUT,
                show_default=True,
                help="How long to wait for another apply to finish.",
            ),
        )
    ):
        func = option(func)
    return func


def approval(auto_approve: bool, allow_mass_delete: bool) -> Callable[[Any], None]:
    """The ``approve`` hook of ``apply_model``: asks on a terminal, guards mass deletes otherwise."""
    from hlb.compiler.wording import Paint, colour_wanted
    from hlb.plans.render import MassDeleteRefused, mass_delete, render_text

    ask = not auto_approve and sys.stdin.isatty()

    def approve(plan: Any) -> None:
        if ask:
            if plan.deletes():
                paint = Paint(colour_wanted(sys.stdout))
                click.echo(render_text(plan, paint=paint), color=paint.on)
                if not click.confirm("Apply?", default=False):
                    raise Declined()
            return
        found = mass_delete(plan)
        if found is not None and not allow_mass_delete:
            raise MassDeleteRefused(plan, found)

    return approve


def saved_plan_input(paths: tuple[str, ...]) -> Any:
    """The saved plan named by ``paths`` (checked: digest and desired objects), or None for specs.

    A plan that fails validate's checks prints its findings and exits 1."""
    if not (len(paths) == 1 and paths[0].endswith(".json") and Path(paths[0]).is_file()):
        return None
    from hlb.compiler.diagnostics import render_diagnostics
    from hlb.compiler.wording import plural
    from hlb.plans.saved_plan import SavedPlanError, check_desired, load_saved_plan

    try:
        text = Path(paths[0]).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SavedPlanError("not UTF-8 text; create it again with `hlb plan SPECS -o plan.json`") from None
    saved = load_saved_plan(text)
    problems = check_desired(saved, paths[0])
    if problems:
        click.echo(render_diagnostics(problems, "text"), err=True)
        click.echo(f"{plural(len(problems), 'error')} in the saved plan; nothing was changed.", err=True)
        sys.exit(1)
    return saved
