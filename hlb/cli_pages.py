"""`hlb preview` and `hlb serve`: the commands that draw pages (HTML files, or read-only status pages).

``hlb preview`` renders dashboards and slash commands as Discord-looking HTML pages (and PNGs
with Chromium); ``hlb serve`` is a thin layer over ``hlb.serve`` (docs/serve.md). Registered on
the `hlb` group by ``hlb.cli``; each imports its heavy parts inside the function.
"""

from __future__ import annotations

import os

import click

from hlb.cli_common import compile_or_exit, database_url, fail, guarded


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


@click.command("serve")
@click.option("--addr", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--token",
    envvar="HLB_SERVE_TOKEN",
    help="Required on every request; needed to bind anywhere but localhost. Prefer HLB_SERVE_TOKEN.",
)
@guarded
def serve_command(addr: str, token: str | None) -> None:
    """Serve read-only status pages and a JSON API (/api/v1/) over the database until Ctrl-C.

    Revisions and their plans, each object's status in files, database and Discord, workflow
    runs, the bot's replicas and the dashboards as `hlb preview` draws them. Nothing is written.
    Needs aiohttp: pip install 'hlb[serve]'."""
    import asyncio
    import logging
    import signal

    from hlb.serve.config import AddressError, ServeConfig, check, parse_addr

    try:
        host, port = parse_addr(addr)
    except AddressError as error:
        raise click.BadParameter(str(error), param_hint="--addr") from None
    refused = check(host, token)
    if refused is not None:
        raise click.UsageError(refused)
    try:
        from hlb.serve.app import make_app, run
    except ModuleNotFoundError as error:
        if error.name != "aiohttp":
            raise
        fail("E702 `hlb serve` needs aiohttp: pip install 'hlb[serve]'")

    app = make_app(ServeConfig(database_url(existing=True), token))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        ready = lambda url: click.echo(f"serving read-only status pages on {url}", err=True)  # noqa: E731
        await run(app, host, port, stop, ready)

    try:
        asyncio.run(main())
    except OSError as error:  # the port is taken, or the address is not this machine's
        raise click.ClickException(f"cannot listen on {addr}: {error.strerror or error}") from None
