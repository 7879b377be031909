"""`hlb preview`: dashboards and slash commands as Discord-looking HTML pages (and PNGs with Chromium)."""

from __future__ import annotations

import os

import click

from hlb.cli_common import compile_or_exit, fail, guarded


@click.command("preview")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--out",
    "-o",
    "out_dir",
    default=".hlb/preview",
    show_default=True,
    type=click.Path(file_okay=False, path_type=str),
    help="Folder for index.html, <dashboard>.html and <dashboard>.png.",
)
@click.option(
    "--data",
    "data_file",
    type=click.Path(exists=True, dir_okay=False, path_type=str),
    help="Sample data, YAML or JSON: {<dashboard>: {<source>: <data>}}.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Fetch the sources that --data does not cover (secrets from HLB_SECRET_<NAME> or HLB_SECRETS_DIR).",
)
@click.option("--png/--no-png", default=True, show_default=True, help="Screenshot each page with Chromium.")
@guarded
def preview(paths: tuple[str, ...], out_dir: str, data_file: str | None, live: bool, png: bool) -> None:
    """Render every dashboard and the slash commands as HTML that looks like Discord.

    Sources get sample data from --data; one without renders the "Data unavailable" note. Nothing is
    fetched unless --live is given. With Chromium installed (chromium, chromium-browser, google-chrome
    or $HLB_CHROMIUM), each dashboard page is also saved as a PNG.
    """
    from hlb.preview import PreviewError, load_sample_data, summary, write_preview

    try:
        data = load_sample_data(data_file) if data_file else {}
    except PreviewError as error:
        fail(f"--data: {error}")
    model = compile_or_exit(paths).model  # --live fetches with aiohttp: without it, `guarded` says E702
    secrets = None
    if live:
        from hlb.runtime.secrets import Secrets

        secrets = Secrets.from_env(os.environ)
    result = write_preview(model, out_dir, data, live=live, png=png, secrets=secrets)
    for line in summary(result):
        click.echo(line)
