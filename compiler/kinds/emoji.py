"""The Emoji kind: a custom emoji of a guild, its image read and checked at validate (type, size, place).

``image`` is a path relative to the spec file's directory, and must stay inside
that directory (no ``..`` escape, no absolute path elsewhere, no symlink leading
out). The file must be a PNG, JPEG, WebP or GIF (told by its first bytes, not
its name) of at most 256 KiB. The normalized spec carries the image itself as a
data URI (``image_data``, what Discord's create call takes) and its SHA-256:
the database holds the bytes the bot uploads, since the bot never sees the
spec files. This kind reads files besides its document, so its check results
are not kept in the compile cache (``Kind.reads_files``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hlb.compiler.enums import EMOJI_IMAGE_TYPES, EMOJI_MAX_BYTES
from hlb.compiler.kinds.base import Draft, Index, Kind, Problem

EMOJI_NAME = re.compile(r"^[A-Za-z0-9_]{2,32}$")  # Discord's rule for emoji names
_MAGIC: tuple[tuple[bytes, int, str], ...] = (  # (bytes, offset, type)
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"WEBP", 8, "webp"),
)
MIME = {kind: f"image/{kind}" for kind in EMOJI_IMAGE_TYPES}


def image_type(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif`` or ``webp`` from the first bytes of ``data``; None for anything else."""
    for magic, offset, kind in _MAGIC:
        if data[offset : offset + len(magic)] == magic and (kind != "webp" or data[:4] == b"RIFF"):
            return kind
    return None


def data_uri(data: bytes, kind: str) -> str:
    """``data`` as the image data URI Discord's emoji calls take."""
    return f"data:{MIME[kind]};base64,{base64.b64encode(data).decode('ascii')}"


def emoji_name(draft: Draft) -> Any:
    """The name Discord shows: ``spec.name``, else the object's name."""
    return draft.spec.get("name", draft.name)


class ImageProblem(Exception):
    """The image cannot be used; ``code`` and the message say why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def read_image(spec_file: str, image: str) -> tuple[bytes, str]:
    """The bytes and type of ``image``, relative to ``spec_file``'s directory; ImageProblem when unusable."""
    base = Path(spec_file).parent
    candidate = base / image
    try:
        inside = candidate.resolve().is_relative_to(base.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise ImageProblem(
            "E309",
            f"image '{image}' is outside the spec file's directory ({base.as_posix() or '.'}); "
            "keep emoji images beside the specs, with no '..', absolute path or symlink leading out",
        )
    try:
        with candidate.open("rb") as handle:
            data = handle.read(EMOJI_MAX_BYTES + 1)
    except OSError as error:
        missing = isinstance(error, FileNotFoundError)
        why = "does not exist" if missing else f"cannot be read ({error.strerror})"
        raise ImageProblem("E310", f"image '{image}' {why}; the path is relative to the spec file") from None
    if len(data) > EMOJI_MAX_BYTES:
        raise ImageProblem(
            "E413", f"image '{image}' is larger than Discord's 256 KiB for an emoji; shrink it"
        )
    kind = image_type(data)
    if kind is None:
        raise ImageProblem("E414", f"image '{image}' is not a PNG, JPEG, WebP or GIF image (by its content)")
    return data, kind


def recorded_problem(spec: Mapping[str, Any]) -> str | None:
    """What is wrong with a compiled Emoji's recorded image (a saved plan's, whose spec file is not
    at hand): a data URI that does not decode to a usable image or does not match its ``sha256``."""
    head, _, data = str(spec.get("image_data", "")).partition(";base64,")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        return "its image_data is not base64"
    kind = image_type(raw)
    if kind is None or head != f"data:{MIME[kind]}" or len(raw) > EMOJI_MAX_BYTES:
        return "its image_data is not a PNG, JPEG, WebP or GIF of at most 256 KiB"
    if hashlib.sha256(raw).hexdigest() != spec.get("sha256") or spec.get("animated") != (kind == "gif"):
        return "its image_data does not match its sha256"
    return None


class EmojiRules:
    """Rules of the Emoji kind."""

    def check(self, draft: Draft, index: Index) -> Iterator[Problem]:
        name = emoji_name(draft)
        if not isinstance(name, str) or not EMOJI_NAME.match(name):
            where = ("spec", "name") if "name" in draft.spec else ("name",)
            message = (
                f"emoji name {name!r} is not allowed by Discord: 2-32 letters, digits or '_' "
                "(set spec.name when the object's name has a '-')"
            )
            yield Problem("E406", message, where)
        try:
            read_image(draft.file, str(draft.spec["image"]))
        except ImageProblem as problem:
            yield Problem(problem.code, str(problem), ("spec", "image"))
        roles = draft.spec.get("roles")
        if isinstance(roles, list) and len(set(roles)) != len(roles):
            yield Problem("E410", "a role is listed twice in spec.roles; list each once", ("spec", "roles"))

    def normalize(self, draft: Draft) -> dict[str, Any]:
        spec = draft.spec
        data, kind = read_image(draft.file, str(spec["image"]))
        out: dict[str, Any] = {
            "name": emoji_name(draft),
            "image": str(spec["image"]),
            "sha256": hashlib.sha256(data).hexdigest(),
            "animated": kind == "gif",
            "image_data": data_uri(data, kind),
            "protect": bool(spec.get("protect", False)),
        }
        if isinstance(spec.get("roles"), list):
            out["roles"] = sorted(str(r) for r in spec["roles"])
        return out


# Fields the compiler derives from the image: not part of a spec a person writes (``hlb export``).
DERIVED: tuple[str, ...] = ("sha256", "animated", "image_data")

KIND = Kind("Emoji", EmojiRules(), "emojis", reads_files=True)
