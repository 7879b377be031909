"""`hlb serve`: the read-only status pages, a thin layer over ``hlb.serve`` (docs/serve.md)."""

from __future__ import annotations

import click

from hlb.cli_common import database_url, fail, guarded


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
