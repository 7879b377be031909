"""The emulator's gateway: a JSON websocket with HELLO, heartbeats, IDENTIFY/READY, RESUME and dispatch.

``Gateway.publish`` sends an event to every session whose intents cover it: each session
numbers its events (``s``) and keeps them, so a client that lost its socket can RESUME and
get what it missed. Each socket has a writer task fed by a queue, so publishing never waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import deque
from dataclasses import dataclass, field

from aiohttp import WSMessage, WSMsgType, web

from hlb.testing.models import Guild, Json
from hlb.testing.state import EmulatorState

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_EXPRESSIONS = 1 << 3  # emojis and stickers
GUILD_MESSAGES = 1 << 9
MESSAGE_CONTENT = 1 << 15
EVENT_INTENTS: dict[str, int] = {
    **dict.fromkeys(
        ("CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "GUILD_CREATE", "GUILD_UPDATE"), GUILDS
    ),
    **dict.fromkeys(("GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE"), GUILDS),
    "GUILD_EMOJIS_UPDATE": GUILD_EXPRESSIONS,
    **dict.fromkeys(("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"), GUILD_MEMBERS),
    **dict.fromkeys(("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"), GUILD_MESSAGES),
}  # events not listed here (INTERACTION_CREATE, READY, ...) need no intent

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE, RESUME = 0, 1, 2, 3, 4, 6
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11
UNKNOWN_OPCODE, DECODE_ERROR, NOT_AUTHENTICATED, AUTHENTICATION_FAILED, ALREADY_AUTHENTICATED = (
    4001,
    4002,
    4003,
    4004,
    4005,
)
BACKLOG = 1000


class Link:
    """One open websocket and the task writing its queued frames in order."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    def send(self, frame: Json) -> None:
        self.queue.put_nowait(json.dumps(frame))

    def send_raw(self, frame: str) -> None:
        self.queue.put_nowait(frame)

    async def _write(self) -> None:
        while True:
            frame = await self.queue.get()
            try:
                if not self.ws.closed:
                    await self.ws.send_str(frame)
            except ConnectionError:
                pass
            finally:
                self.queue.task_done()

    async def stop(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        while not self.queue.empty():
            self.queue.get_nowait()
            self.queue.task_done()


@dataclass
class Session:
    """An identified gateway session: its intents, last sequence number and the events sent."""

    id: str
    intents: int
    seq: int = 0
    backlog: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    link: Link | None = None


class Gateway:
    """Sessions of the bot's gateway connections, for one emulator's state and token."""

    def __init__(self, state: EmulatorState, token: str, heartbeat_interval: int = 41250) -> None:
        self.state = state
        self.token = token
        self.heartbeat_interval = heartbeat_interval
        self.sessions: dict[str, Session] = {}
        self.links: set[Link] = set()
        self.resumes = 0

    # -- sending ---------------------------------------------------------------------------

    def publish(self, event: str, payload: Json) -> None:
        """Send a dispatch event to every session whose intents cover it (buffered while offline)."""
        for session in list(self.sessions.values()):
            self._send_event(session, event, payload)

    def _send_event(self, session: Session, event: str, payload: Json) -> None:
        needed = EVENT_INTENTS.get(event, 0)
        if needed and not session.intents & needed:
            return
        session.seq += 1
        frame = json.dumps(
            {"op": DISPATCH, "t": event, "s": session.seq, "d": self._visible(session, payload)}
        )
        session.backlog.append((session.seq, frame))
        if session.link is not None:
            session.link.send_raw(frame)

    def _visible(self, session: Session, payload: Json) -> Json:
        """Without MESSAGE_CONTENT, others' messages arrive with content, embeds and components empty."""
        author = payload.get("author")
        if session.intents & MESSAGE_CONTENT or not isinstance(author, dict) or "content" not in payload:
            return payload
        if author.get("id") == str(self.state.bot_user.id):
            return payload
        return {**payload, "content": "", "embeds": [], "attachments": [], "components": []}

    async def flush(self) -> None:
        """Wait until every frame queued so far has been written to its socket."""
        await asyncio.gather(*(link.queue.join() for link in list(self.links)))

    async def drop(self, code: int = 4000) -> None:
        """Close every socket as a network failure would: sessions stay resumable."""
        for session in self.sessions.values():
            session.link = None
        links = list(self.links)
        await asyncio.gather(
            *(link.ws.close(code=code, message=b"dropped by the emulator") for link in links)
        )

    # -- the websocket -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        link = Link(ws)
        self.links.add(link)
        link.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval}, "s": None, "t": None})
        session: Session | None = None
        try:
            async for msg in ws:
                frame = _decode(msg)
                if frame is None:
                    await ws.close(code=DECODE_ERROR, message=b"Error while decoding payload.")
                    break
                session = await self._receive(link, session, frame, f"ws://{request.host}{request.path}")
        finally:
            await link.stop()
            self.links.discard(link)
            if session is not None and session.link is link:
                session.link = None
                if ws.close_code in (1000, 1001):  # a clean close ends the session
                    self.sessions.pop(session.id, None)
        return ws

    async def _receive(self, link: Link, session: Session | None, frame: Json, url: str) -> Session | None:
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            link.send({"op": HEARTBEAT_ACK, "d": None})
            return session
        if op in (IDENTIFY, RESUME):
            if session is not None:
                await link.ws.close(code=ALREADY_AUTHENTICATED, message=b"Already authenticated.")
                return session
            if not isinstance(data, dict) or data.get("token") not in (self.token, f"Bot {self.token}"):
                await link.ws.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
                return None
            return self._identify(link, data, url) if op == IDENTIFY else await self._resume(link, data)
        if session is None:
            await link.ws.close(code=NOT_AUTHENTICATED, message=b"Not authenticated.")
            return None
        if op == REQUEST_MEMBERS and isinstance(data, dict):
            self._send_event(session, "GUILD_MEMBERS_CHUNK", self._members_chunk(data))
        elif op not in (PRESENCE, VOICE_STATE):
            await link.ws.close(code=UNKNOWN_OPCODE, message=b"Unknown opcode.")
        return session

    def _identify(self, link: Link, data: Json, url: str) -> Session:
        session = Session(id=secrets.token_hex(16), intents=int(data.get("intents") or 0), link=link)
        self.sessions[session.id] = session
        ready: Json = {
            "v": 10,
            "user": {**self.state.bot_user.to_json(), "verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self.state.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": url,
            "application": {"id": str(self.state.application_id), "flags": self.state.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["hlb-emulator"],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        self._send_event(session, "READY", ready)
        for guild in self.state.guilds.values():
            self._send_event(session, "GUILD_CREATE", self.guild_create(guild, session.intents))
        return session

    async def _resume(self, link: Link, data: Json) -> Session | None:
        session = self.sessions.get(str(data.get("session_id")))
        seq = int(data.get("seq") or 0)
        if session is None or (session.backlog and session.backlog[0][0] > seq + 1):
            link.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return None
        if session.link is not None and session.link is not link:  # a zombie connection
            old, session.link = session.link, None
            await old.ws.close(code=4000, message=b"Session resumed elsewhere.")
        for number, frame in session.backlog:
            if number > seq:
                link.send_raw(frame)
        session.link = link
        self.resumes += 1
        self._send_event(session, "RESUMED", {"_trace": ["hlb-emulator"]})
        return session

    # -- payloads ------------------------------------------------------------------------------

    def guild_create(self, guild: Guild, intents: int) -> Json:
        """A full GUILD_CREATE: all members with GUILD_MEMBERS, else only the bot's own member."""
        bot_id = self.state.bot_user.id
        members = [m for m in guild.members.values() if intents & GUILD_MEMBERS or m.user.id == bot_id]
        return {
            **guild.to_json(),
            "joined_at": guild.members[bot_id].joined_at,
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(guild.members),
            "members": [m.to_json() for m in members],
            "channels": [c.to_json() for c in guild.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _members_chunk(self, data: Json) -> Json:
        guild_id = int(data["guild_id"])
        guild = self.state.guilds.get(guild_id)
        members = list(guild.members.values()) if guild is not None else []
        chunk: Json = {"guild_id": str(guild_id), "chunk_index": 0, "chunk_count": 1, "not_found": []}
        if data.get("user_ids"):
            raw = data["user_ids"]
            wanted = {int(u) for u in (raw if isinstance(raw, list) else [raw])}
            members = [m for m in members if m.user.id in wanted]
            chunk["not_found"] = [str(u) for u in wanted - {m.user.id for m in members}]
        else:
            query = str(data.get("query") or "").lower()
            members = [m for m in members if m.user.username.lower().startswith(query)]
            members = members[: int(data.get("limit") or 0) or None]
        chunk["members"] = [m.to_json() for m in members]
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        return chunk


def _decode(msg: WSMessage) -> Json | None:
    """The JSON object of a text frame, or None for anything else."""
    if msg.type is not WSMsgType.TEXT:
        return None
    try:
        frame = json.loads(msg.data)
    except ValueError:
        return None
    return frame if isinstance(frame, dict) else None
