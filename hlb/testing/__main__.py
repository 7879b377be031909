"""Command-line entry: ``python -m hlb.testing`` runs a standalone Discord emulator until interrupted.

It prints ``export KEY=value`` lines to paste into the shell where hlb runs: the REST base URL
(``HLB_DISCORD_API_BASE``), the bot token (``DISCORD_TOKEN``), the first guild's id
(``HLB_GUILD_ID``, which the reference specs read), the gateway URL and the other guilds' ids.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys

from hlb.testing.openapi import load_spec
from hlb.testing.server import Emulator


async def serve(
    host: str, port: int, token: str | None, guilds: int, guild_id: int | None, roles: list[str]
) -> None:
    emu = Emulator(token=token)
    await emu.start(host, port)
    created = [emu.add_guild(f"Test Guild {i + 1}", guild_id if i == 0 else None) for i in range(guilds)]
    for guild in created:
        for role in roles:
            emu.add_role(guild.id, role)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # this is the program's entry point: its signals
        loop.add_signal_handler(signum, stop.set)
    for line in exports(emu, [guild.id for guild in created]):
        print(line)
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await emu.stop()


def exports(emu: Emulator, guild_ids: list[int]) -> list[str]:
    """What the emulator prints: a comment, then ``export KEY=value`` lines a shell takes as they are."""
    values = [("HLB_DISCORD_API_BASE", emu.base_url), ("DISCORD_TOKEN", emu.token)]
    values += [("HLB_GUILD_ID", str(guild_ids[0]))] if guild_ids else []
    values += [("HLB_TEST_GATEWAY_URL", emu.gateway_url)]
    values += [("HLB_TEST_APPLICATION_ID", str(emu.application_id))]
    values += [(f"HLB_TEST_GUILD_ID_{n}", str(guild_id)) for n, guild_id in enumerate(guild_ids[1:], 2)]
    lines = ["# The Discord emulator runs until Ctrl-C. Paste these lines into the shell where you run hlb:"]
    return lines + [f"export {key}={shlex.quote(value)}" for key, value in values]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hlb.testing",
        description="Run a Discord emulator (REST, gateway, interactions) for hlb until Ctrl-C. It prints "
        "`export` lines (API base URL, bot token, guild id) to paste into the shell where you run hlb.",
        epilog="example: python -m hlb.testing --guild-id 100000000000000001 --role admins",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: 0, a free one)")
    parser.add_argument("--token", default=None, help="bot token to accept (default: random)")
    parser.add_argument("--guilds", type=int, default=1, help="guilds to create at start")
    parser.add_argument("--guild-id", type=int, default=None, help="id of the first guild (default: random)")
    parser.add_argument("--role", action="append", default=[], help="a role every guild has (repeatable)")
    args = parser.parse_args(argv)
    load_spec()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.token, args.guilds, args.guild_id, args.role))


if __name__ == "__main__":
    main()
