"""Command-line entry: ``python -m hlb.testing`` runs a standalone Discord emulator until interrupted.

It prints the REST base URL (for ``HLB_DISCORD_API_BASE``), the gateway URL, a bot token and
the ids of the guilds it creates, one ``KEY=value`` per line so a shell can ``eval`` them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
    print(f"HLB_DISCORD_API_BASE={emu.base_url}")
    print(f"HLB_TEST_GATEWAY_URL={emu.gateway_url}")
    print(f"DISCORD_TOKEN={emu.token}")
    print(f"HLB_TEST_APPLICATION_ID={emu.application_id}")
    for guild in created:
        print(f"HLB_TEST_GUILD_ID={guild.id}")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hlb.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
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
