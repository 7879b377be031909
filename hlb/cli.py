"""The `hlb` command line: a thin click layer over the library's plain functions.

Imports of the heavy parts happen inside each command, so `hlb --help` stays
fast. Mistakes in the user's input and known operational failures (database
unreachable, stale plan) print one clear message and exit 1; they never show
a traceback. Set HLB_DEBUG=1 to see tracebacks of unexpected faults.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from hlb.cli_apply import apply_options, approval, saved_plan_input
from hlb.cli_common import OWN_PROCESS, PATHS, compile_or_exit, database_url, fail, guarded
from hlb.cli_db import db
from hlb.cli_discord import bot, import_discord, reconcile, status
from hlb.cli_pages import preview, serve_command
from hlb.cli_scaffold import init_command, schema_command
from hlb.cli_version import completion, version_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@version_option
def main() -> None:
    """hlb: your Discord server as code.

    Write specs (YAML) for the server's settings, roles, emojis, channels,
    dashboards, slash commands and workflows, check them with `hlb validate`,
    review `hlb plan`, store them with `hlb apply`. The database is
    DATABASE_URL, or an embedded PostgreSQL under ./.hlb when it is unset: the
    first `hlb apply` starts it, it keeps running between commands, and
    `hlb db stop` stops it.
    """


def run() -> None:
    """The `hlb` program (its installed script and `python -m hlb.cli`): tune this process, run the group.

    The tuning belongs to the process, not the group: tests invoke `main` in their own process."""
    # A command builds many small containers and frees few: the default thresholds make the
    # cyclic GC rescan them over and over (over half the time of compiling 10,000 objects).
    gc.set_threshold(100_000, 50, 100)
    main(obj=OWN_PROCESS)


@main.command()
@PATHS
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
)
@click.option("--reference", is_flag=True, hidden=True, help="Use the slow reference parser and validator.")
def validate(paths: tuple[str, ...], fmt: str, reference: bool) -> None:
    """Check spec files offline and report every problem as file:line:col."""
    from hlb.compile_cache import default_cache
    from hlb.compiler.compile import compile_paths
    from hlb.compiler.diagnostics import render_diagnostics
    from hlb.compiler.wording import Paint, colour_wanted, validate_verdict

    result = compile_paths(paths, reference=reference, cache=None if reference else default_cache())
    paint = Paint(fmt == "text" and colour_wanted(sys.stdout))
    if result.diagnostics or fmt in ("json", "sarif"):
        out = render_diagnostics(result.diagnostics, fmt, paint=paint)
        if out:
            click.echo(out, color=paint.on)
    if fmt == "text":
        click.echo(validate_verdict(result), err=not result.ok)
    sys.exit(0 if result.ok else 1)


@main.command()
@PATHS
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 when nothing changes, 2 when something would."
)
@click.option(
    "-o", "--out", "out", type=click.Path(dir_okay=False), help="Save the plan for `hlb apply FILE`."
)
@guarded
def plan(paths: tuple[str, ...], fmt: str, detailed_exitcode: bool, out: str | None) -> None:
    """Show what `hlb apply` would change in the database."""
    from hlb.compiler.wording import Paint, colour_wanted
    from hlb.plans.render import render_json, render_markdown, render_text
    from hlb.plans.saved_plan import dump_saved_plan
    from hlb.store.apply import plan_against

    result = compile_or_exit(paths, "text")
    the_plan = plan_against(database_url(existing=True), result.model)
    paint = Paint(fmt == "text" and colour_wanted(sys.stdout))
    if fmt == "text":
        click.echo(render_text(the_plan, paint=paint), color=paint.on)
    else:
        click.echo({"json": render_json, "markdown": render_markdown}[fmt](the_plan))
    if out:
        Path(out).write_text(dump_saved_plan(the_plan), encoding="utf-8")
        click.echo(f"Saved the plan to {out}. Apply it with: hlb apply {out}", err=True)
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(2)


@main.command()
@PATHS
@click.option("-m", "--message", help="Why: recorded on the revision.")
@apply_options
@guarded
def apply(
    paths: tuple[str, ...],
    message: str | None,
    auto_approve: bool,
    allow_mass_delete: bool,
    lock_timeout: float,
) -> None:
    """Apply specs (or a saved plan) to the database as one new revision.

    On a terminal, a plan that deletes anything is shown and needs a yes. Without
    one, a plan that deletes a Guild, or 10 or more objects and over a quarter
    of them, needs --allow-mass-delete."""
    from hlb.cli_version import author, git_sha
    from hlb.compiler.wording import Paint, colour_wanted
    from hlb.plans.render import render_applied
    from hlb.store.apply import apply_model

    saved = saved_plan_input(paths)
    model = saved.desired if saved is not None else compile_or_exit(paths, "text").model
    result = apply_model(
        database_url(),
        model,
        author=author(paths),
        git_sha=git_sha(paths),
        message=message,
        planned=saved.planned_on if saved is not None else None,
        approve=approval(auto_approve, allow_mass_delete),
        lock_timeout=lock_timeout,
        echo=lambda line: click.echo(line, err=True),
    )
    paint = Paint(colour_wanted(sys.stdout))
    click.echo(render_applied(result.plan, result.revision, paint=paint), color=paint.on)


@main.command()
@click.option("--limit", default=20, show_default=True, help="How many revisions to list.")
@guarded
def history(limit: int) -> None:
    """List applied revisions, newest first."""
    from hlb.store.revisions import history_lines, list_history

    revisions = list_history(database_url(existing=True), limit)
    if not revisions:
        click.echo("No revisions yet. Run `hlb apply SPECS` to create the first.")
        return
    for line in history_lines(revisions):
        click.echo(line)


@main.command()
@click.argument("rev", type=int)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@guarded
def show(rev: int, fmt: str) -> None:
    """Show one revision: who, when, why, and what it changed."""
    import json

    from hlb.compiler.wording import Paint, colour_wanted
    from hlb.plans.render import plan_to_json
    from hlb.store.revisions import show_revision, show_text

    detail = show_revision(database_url(existing=True), rev)
    r = detail.info
    if fmt == "json":
        payload = {
            "revision": r.id,
            "created_at": r.created_at.isoformat(),
            "author": r.author,
            "git_sha": r.git_sha,
            "message": r.message,
            "parent": r.parent,
            "objects": len(detail.model),
            **plan_to_json(detail.changes),
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))
        return
    paint = Paint(colour_wanted(sys.stdout))
    click.echo(show_text(detail, paint=paint), color=paint.on)


@main.command()
@click.argument("rev", type=int)
@click.option("-m", "--message", help="Why: recorded on the new revision.")
@apply_options
@guarded
def rollback(
    rev: int, message: str | None, auto_approve: bool, allow_mass_delete: bool, lock_timeout: float
) -> None:
    """Re-apply the snapshot of revision REV as a new revision (asks before deletes, like apply)."""
    from hlb.cli_version import author
    from hlb.compiler.wording import Paint, colour_wanted
    from hlb.plans.render import render_rollback
    from hlb.store.apply import apply_model
    from hlb.store.revisions import revision_model

    url = database_url(existing=True)
    model = revision_model(url, rev)
    result = apply_model(
        url,
        model,
        author=author(["."]),
        git_sha=None,
        message=message or f"rollback to revision {rev}",
        approve=approval(auto_approve, allow_mass_delete),
        lock_timeout=lock_timeout,
        echo=lambda line: click.echo(line, err=True),
    )
    if result.revision is None:
        click.echo(f"No changes: the database already matches revision {rev}.")
        return
    paint = Paint(colour_wanted(sys.stdout))
    click.echo(render_rollback(result.plan, rev, result.revision, paint=paint), color=paint.on)


@main.command()
@click.option("--out", "out_dir", default="export", show_default=True, type=click.Path(file_okay=False))
@guarded
def export(out_dir: str) -> None:
    """Write the stored state as spec YAML, one file per kind."""
    from hlb.cli_common import write_export
    from hlb.store.apply import stored_model

    revision, model = stored_model(database_url(existing=True))
    if not len(model):
        fail("the database holds no objects yet; run `hlb apply SPECS` first")
    for path in write_export(model, Path(out_dir), revision):
        click.echo(f"wrote {path}")


# Commands kept in their own modules (each imports its heavy parts lazily).
for _command in (
    init_command,
    schema_command,
    import_discord,
    preview,
    serve_command,
    db,
    completion,
    reconcile,
    status,
    bot,
):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    run()
