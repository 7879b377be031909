"""Generate valid hlb/v1 spec sets for benchmarks, in the shapes Discord allows.

    python bench/generate.py OUT_DIR SHAPE [--seed S] [--change-percent P]
    python bench/generate.py OUT_DIR N [--seed S] [--change-percent P] [--guilds G]

``SHAPE`` is one of ``SHAPES``:

- ``homelab``: one guild, 60 channels in 6 categories, 10 dashboards, 15
  commands, 10 workflows (96 objects);
- ``community``: one guild at Discord's ceilings: 500 channels (categories
  included, 10 categories of 49 channels, Discord allows 50), 100 commands,
  50 dashboards, 60 workflows (711 objects);
- ``fleet``: 25 guilds shaped like a small community (250 channels in 10
  categories, 64 commands, 40 dashboards, 45 workflows each), 10,000
  objects in all.

A number ``N`` instead writes N objects mixed the old way: one Guild per 400
objects (or G of them), then categories and channels (~50%), workflows
(~15%), dashboards (~15%) and commands (~20%). Every reference resolves
inside its guild and every value stays within the limits of docs/kinds/*.md.
Files hold at most 20 documents and live in one subdirectory per kind
(``channels/``, ``workflows/``, ``dashboards/``, ``commands/``).

The output depends only on the shape (or N and G) and the seed.
``--change-percent P`` writes the same set with P% of the objects changed (a
topic, a description, a message), so a benchmark can apply the base set,
then measure an apply where 1% changed. The changed objects are chosen
deterministically from the seed, and the same P always changes the same
objects in the same way.

Importable: ``generate(out_dir, n, seed=0, change_percent=0.0, guilds=None)``
and ``generate_shape(out_dir, shape, seed=0, change_percent=0.0)``.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

DOCS_PER_FILE = 20
# Discord allows 50 channels per category; the mixed sets stay well below.
CHANNELS_PER_CATEGORY = 25
# Commands are ~20% and channels ~50% of a guild's objects: 400 keeps a guild under Discord's
# 100 commands and 500 channels, which validate enforces.
OBJECTS_PER_GUILD = 400
KIND_DIRS = {
    "Guild": "guilds",
    "Channel": "channels",
    "Workflow": "workflows",
    "Dashboard": "dashboards",
    "Command": "commands",
}

PERMISSIONS = [
    "view_channel",
    "send_messages",
    "manage_messages",
    "read_message_history",
    "add_reactions",
    "embed_links",
    "attach_files",
    "mention_everyone",
]
ROLES = ["admins", "on-call", "members", "guests"]
COLORS = ["#2ecc71", "#3498db", "#e67e22", "#e74c3c", "#9b59b6", "#1abc9c", "#f1c40f"]
HOSTS = ["nas", "pi", "router", "proxmox", "backup", "gpu", "k3s-1", "k3s-2"]
SERVICES = ["plex", "sonarr", "radarr", "grafana", "prometheus", "home-assistant", "pihole", "nextcloud"]
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
]
OPTION_TYPES = ["string", "string", "integer", "number", "boolean", "user", "channel", "role"]


class Shape:
    """The make-up of each guild of a shape, and how many guilds (a plain class, like ``Obj``)."""

    __slots__ = ("channels", "commands", "dashboards", "guilds", "per_category", "workflows")

    def __init__(
        self, guilds: int, channels: int, per_category: int, workflows: int, dashboards: int, commands: int
    ) -> None:
        self.guilds = guilds
        self.channels = channels  # categories included
        self.per_category = per_category  # channels under each category
        self.workflows = workflows
        self.dashboards = dashboards
        self.commands = commands

    def objects(self) -> int:
        return self.guilds * (1 + self.channels + self.workflows + self.dashboards + self.commands)


SHAPES = {
    "homelab": Shape(guilds=1, channels=60, per_category=9, workflows=10, dashboards=10, commands=15),
    "community": Shape(guilds=1, channels=500, per_category=49, workflows=60, dashboards=50, commands=100),
    "fleet": Shape(guilds=25, channels=250, per_category=24, workflows=45, dashboards=40, commands=64),
}


class Obj:
    """One spec object (a plain class, so the module also works loaded by file path)."""

    __slots__ = ("guild", "kind", "labels", "name", "spec")

    def __init__(
        self, kind: str, name: str, guild: str, spec: dict[str, Any], labels: dict[str, str] | None = None
    ) -> None:
        self.kind = kind
        self.name = name
        self.guild = guild
        self.spec = spec
        self.labels = labels or {}


def _split(n: int) -> dict[str, int]:
    """How many objects of each kind (besides the guilds) for ``n`` of them."""
    workflows = round(n * 0.15)
    dashboards = round(n * 0.15)
    commands = round(n * 0.20)
    channels = n - workflows - dashboards - commands
    # A dashboard needs a text channel (and a category is not one): with too few
    # channels, trade dashboards and then commands for channels.
    while dashboards and channels < 2:
        dashboards -= 1
        channels += 1
    return {"Channel": channels, "Workflow": workflows, "Dashboard": dashboards, "Command": commands}


def _words(rng: random.Random, k: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(k))


def _channels(
    rng: random.Random, guild: str, count: int, start: int, per_category: int = CHANNELS_PER_CATEGORY
) -> list[Obj]:
    """``count`` channels: a category first, then up to ``per_category`` children per category."""
    out: list[Obj] = []
    category: str | None = None
    children = 0
    position = 0
    categories = 0
    i = start
    while len(out) < count:
        i += 1
        # A category only pays off when at least one channel follows it.
        if (category is None or children >= per_category) and count - len(out) >= 2:
            category = f"cat-{i:05d}"
            out.append(
                Obj(
                    "Channel",
                    category,
                    guild,
                    {
                        "type": "category",
                        "display_name": f"Area {i}",
                        "position": categories,
                    },
                )
            )
            categories += 1
            children = 0
            position = 0
            continue
        name = f"ch-{i:05d}"
        roll = rng.random()
        if not any(o.spec["type"] in ("text", "announcement") for o in out):
            roll = 0.0  # the first channel is text, so dashboards always have one
        spec: dict[str, Any]
        if roll < 0.8:
            spec = {
                "type": "text",
                "display_name": f"{name}-{rng.choice(WORDS)}",
                "topic": f"Channel {i}: {_words(rng, rng.randint(3, 10))}.",
            }
            if rng.random() < 0.3:
                spec["slowmode"] = rng.choice([0, 5, 30, 60, 300])
        elif roll < 0.9:
            spec = {
                "type": "announcement",
                "display_name": f"{name}-news",
                "topic": f"Announcements {i}: {_words(rng, rng.randint(3, 8))}.",
            }
        else:
            spec = {
                "type": "voice",
                "display_name": f"Voice {i}",
                "bitrate": rng.choice([32000, 64000, 96000]),
                "user_limit": rng.randint(0, 25),
            }
        if category is not None:
            spec["category"] = category
            children += 1
        spec["position"] = position
        position += 1
        if rng.random() < 0.4:
            roles = rng.sample(ROLES, rng.randint(1, 3))
            perms: list[dict[str, Any]] = [{"role": "@everyone", "deny": ["send_messages"]}]
            for role in roles:
                perms.append({"role": role, "allow": sorted(rng.sample(PERMISSIONS, rng.randint(1, 3)))})
            spec["permissions"] = perms
        out.append(Obj("Channel", name, guild, spec, {"tier": rng.choice(["core", "media", "misc"])}))
    return out


def _option(rng: random.Random, name: str, required: bool) -> dict[str, Any]:
    typ = rng.choice(OPTION_TYPES)
    opt: dict[str, Any] = {"name": name, "type": typ, "required": required}
    if typ == "string" and rng.random() < 0.5:
        opt["choices"] = rng.sample(SERVICES, rng.randint(2, 5))
    elif typ == "integer" and rng.random() < 0.5:
        opt["min_value"] = 0
        opt["max_value"] = rng.choice([10, 100, 1000])
    return opt


def _workflows(rng: random.Random, guild: str, count: int, start: int, text_channels: list[str]) -> list[Obj]:
    out: list[Obj] = []
    for k in range(count):
        i = start + k + 1
        name = f"wf-{i:05d}"
        # Half the workflows take inputs (commands run those); the others take none
        # or only optional ones, so a button can run them.
        inputs: list[dict[str, Any]] = []
        if k % 2 == 0:
            n_inputs = rng.randint(1, 3)
            n_required = rng.randint(0, n_inputs)
            for j in range(n_inputs):
                inp = _option(rng, f"arg{j + 1}", j < n_required)
                inp.pop("choices", None)
                inp.pop("min_value", None)
                inp.pop("max_value", None)
                inputs.append(inp)
        steps: list[dict[str, Any]] = []
        if rng.random() < 0.6:
            svc = rng.choice(SERVICES)
            http: dict[str, Any] = {
                "method": rng.choice(["GET", "POST"]),
                "url": f"http://homelab-api.lan:5000/api/services/{svc}/{rng.choice(['restart', 'status'])}",
                "headers": {"Authorization": "Bearer ${secret:HOMELAB_API_TOKEN}"},
                "timeout": rng.choice(["5s", "10s", "30s"]),
            }
            if http["method"] == "POST":
                http["json"] = {"service": svc, "requested_by": "{{ user.name }}"}
            steps.append({"id": "call", "http": http})
            reply = {"content": f"{svc}: HTTP {{{{ steps.call.status }}}}", "ephemeral": True}
            steps.append({"reply": reply})
        else:
            steps.append({"reply": f"Workflow {i} ran for {{{{ user.name }}}}."})
        if text_channels and rng.random() < 0.5:
            steps.append(
                {
                    "send": {
                        "channel": rng.choice(text_channels),
                        "content": f"{{{{ user.name }}}} ran workflow {i} ({_words(rng, 2)}).",
                    }
                }
            )
        spec: dict[str, Any] = {"steps": steps}
        if rng.random() < 0.5:
            spec["allowed_roles"] = rng.sample(["admins", "on-call"], rng.randint(1, 2))
        if inputs:
            spec["inputs"] = inputs
        out.append(Obj("Workflow", name, guild, spec))
    return out


def _dashboards(
    rng: random.Random,
    guild: str,
    count: int,
    start: int,
    text_channels: list[str],
    button_workflows: list[str],
) -> list[Obj]:
    out: list[Obj] = []
    for k in range(count):
        i = start + k + 1
        name = f"dash-{i:05d}"
        spec: dict[str, Any] = {"channel": text_channels[k % len(text_channels)]}
        live = rng.random() < 0.4
        if live:
            spec["refresh"] = rng.choice(["1m", "5m", "15m", "1h"])
            spec["sources"] = {
                "up": {
                    "http": {
                        "url": "http://prometheus.lan:9090/api/v1/query?query=up",
                        "headers": {"Authorization": "Bearer ${secret:PROM_TOKEN}"},
                        "timeout": "5s",
                    }
                }
            }
            spec["content"] = "Updated {{ now | datetime }}"
        embeds = []
        for e in range(rng.randint(1, 2)):
            fields = []
            for f in range(rng.randint(3, 6)):
                host = HOSTS[(f + e) % len(HOSTS)]
                value = (
                    f"{{{{ sources.up.data.result | length }}}} targets, host {host}"
                    if live and f == 0
                    else f"{host}: {_words(rng, rng.randint(2, 12))}"
                )
                fields.append({"name": f"{host} {f + 1}", "value": value, "inline": rng.random() < 0.5})
            embed: dict[str, Any] = {
                "title": f"Dashboard {i} part {e + 1}",
                "description": f"{_words(rng, rng.randint(5, 20))}.",
                "color": rng.choice(COLORS),
                "fields": fields,
                "footer": {"text": "managed by hlb"},
            }
            if rng.random() < 0.3:
                embed["url"] = f"http://grafana.lan:3000/d/{name}"
            embeds.append(embed)
        spec["embeds"] = embeds
        row: list[dict[str, Any]] = []
        for b in range(rng.randint(1, 3)):
            if button_workflows:
                row.append(
                    {
                        "button": {
                            "label": f"Run {b + 1}",
                            "style": rng.choice(["primary", "secondary", "success", "danger"]),
                            "workflow": rng.choice(button_workflows),
                        }
                    }
                )
        row.append({"button": {"label": "Grafana", "url": f"http://grafana.lan:3000/d/{name}"}})
        spec["components"] = [row]
        out.append(Obj("Dashboard", name, guild, spec))
    return out


def _commands(
    rng: random.Random, guild: str, count: int, start: int, input_workflows: list[Obj]
) -> list[Obj]:
    out: list[Obj] = []
    for k in range(count):
        i = start + k + 1
        name = f"cmd-{i:05d}"
        spec: dict[str, Any] = {"description": f"Command {i}: {_words(rng, rng.randint(2, 8))}"}
        if input_workflows and rng.random() < 0.5:
            # Run a workflow: the options are its inputs, required ones first.
            wf = rng.choice(input_workflows)
            options = []
            for inp in wf.spec["inputs"]:
                opt = dict(inp)
                opt["description"] = f"The {inp['name']} of {wf.name}"
                options.append(opt)
            spec["options"] = options
            spec["workflow"] = wf.name
        else:
            n_opts = rng.randint(1, 3)
            n_required = rng.randint(0, n_opts)
            options = []
            for j in range(n_opts):
                opt = _option(rng, f"opt{j + 1}", j < n_required)
                opt["description"] = f"Option {j + 1} of command {i}"
                options.append(opt)
            spec["options"] = options
            # An optional option may be missing: a missing value must not be printed bare.
            first = f"options.{options[0]['name']} | default('-')"
            if rng.random() < 0.5:
                spec["reply"] = f"Command {i}: {{{{ {first} }}}}"
            else:
                spec["reply"] = {
                    "content": f"Command {i} for {{{{ user.name }}}}: {{{{ {first} }}}}",
                    "ephemeral": rng.random() < 0.5,
                }
        if rng.random() < 0.2:
            spec["default_member_permissions"] = ["manage_guild"]
        out.append(Obj("Command", name, guild, spec))
    return out


def build(n: int, seed: int = 0, guilds: int = 1) -> list[Obj]:
    """The mixed object set: ``n`` objects in total, guilds included."""
    if n < guilds:
        raise ValueError(f"N must be at least the number of guilds ({guilds})")
    rng = random.Random(seed)
    objects: list[Obj] = []
    rest = n - guilds
    for g in range(guilds):
        share = rest // guilds + (1 if g < rest % guilds else 0)
        counts = _split(share)
        objects += _guild(rng, g, guilds, counts, CHANNELS_PER_CATEGORY)
    return objects


def build_shape(shape: str, seed: int = 0) -> list[Obj]:
    """The object set of one of ``SHAPES``."""
    s = SHAPES[shape]
    rng = random.Random(seed)
    counts = {
        "Channel": s.channels,
        "Workflow": s.workflows,
        "Dashboard": s.dashboards,
        "Command": s.commands,
    }
    objects: list[Obj] = []
    for g in range(s.guilds):
        objects += _guild(rng, g, s.guilds, counts, s.per_category)
    return objects


def _guild(rng: random.Random, g: int, guilds: int, counts: dict[str, int], per_category: int) -> list[Obj]:
    """Guild number ``g`` of ``guilds`` and its objects, ``counts`` of each kind."""
    gname = "bench" if guilds == 1 else f"bench-{g + 1:02d}"
    guild = Obj("Guild", gname, gname, {"id": str(200000000000000001 + g), "prune": True})
    base = g * 100000
    channels = _channels(rng, gname, counts["Channel"], base, per_category)
    text = [c.name for c in channels if c.spec.get("type") in ("text", "announcement")]
    workflows = _workflows(rng, gname, counts["Workflow"], base, text)
    button_wfs = [
        w.name for w in workflows if not any(inp.get("required") for inp in w.spec.get("inputs", []))
    ]
    input_wfs = [w for w in workflows if w.spec.get("inputs")]
    dashboards = _dashboards(rng, gname, counts["Dashboard"], base, text, button_wfs)
    commands = _commands(rng, gname, counts["Command"], base, input_wfs)
    return [guild, *channels, *workflows, *dashboards, *commands]


def apply_changes(objects: list[Obj], seed: int, change_percent: float) -> int:
    """Change ``change_percent``% of the objects in place; returns how many changed."""
    if change_percent <= 0:
        return 0
    candidates = [o for o in objects if o.kind != "Guild"]
    count = min(len(candidates), max(1, round(len(objects) * change_percent / 100)))
    rng = random.Random(f"change-{seed}")
    for o in rng.sample(candidates, count):
        tag = f"(changed {rng.randint(1, 9999)})"
        s = o.spec
        if o.kind == "Channel":
            if s["type"] == "category":
                s["display_name"] = f"{s['display_name']} {tag}"
            elif s["type"] == "voice":
                s["user_limit"] = (s["user_limit"] + 1) % 100
            else:
                s["topic"] = f"{s['topic']} {tag}"
        elif o.kind == "Workflow":
            s["steps"].append({"reply": {"content": f"Done {tag}.", "ephemeral": True}})
        elif o.kind == "Dashboard":
            s["embeds"][0]["description"] = f"{s['embeds'][0]['description']} {tag}"
        elif o.kind == "Command":
            s["description"] = f"{s['description']} {tag}"[:100]
    return count


# --- writing -----------------------------------------------------------------


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(v, ensure_ascii=False)


def _emit(v: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            key = _scalar(k) if not str(k).replace("-", "").replace("_", "").isalnum() else k
            if isinstance(x, (dict, list)) and x:
                out.append(f"{pad}{key}:")
                _emit(x, indent + 2, out)
            else:
                out.append(f"{pad}{key}: {_scalar(x) if not isinstance(x, (dict, list)) else json.dumps(x)}")
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, (dict, list)) and x:
                lines: list[str] = []
                _emit(x, 0, lines)
                out.append(f"{pad}- {lines[0]}")
                out.extend(f"{pad}  {line}" for line in lines[1:])
            else:
                out.append(f"{pad}- {_scalar(x)}")


def to_yaml(o: Obj, multi_guild: bool) -> str:
    doc: dict[str, Any] = {"apiVersion": "hlb/v1", "kind": o.kind, "name": o.name}
    if multi_guild and o.kind != "Guild":
        doc["guild"] = o.guild
    if o.labels:
        doc["labels"] = o.labels
    doc["spec"] = o.spec
    lines: list[str] = []
    _emit(doc, 0, lines)
    return "\n".join(lines) + "\n"


def write(out_dir: Path, objects: list[Obj]) -> list[Path]:
    out_dir = Path(out_dir)
    # Remove what an earlier run wrote, so a smaller N leaves no stale files.
    for sub in KIND_DIRS.values():
        d = out_dir / sub
        if d.is_dir():
            for old in d.glob("*.yaml"):
                old.unlink()
    multi = sum(1 for o in objects if o.kind == "Guild") > 1
    written: list[Path] = []
    for kind, sub in KIND_DIRS.items():
        of_kind = [o for o in objects if o.kind == kind]
        if not of_kind:
            continue
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
        for f in range(0, len(of_kind), DOCS_PER_FILE):
            path = out_dir / sub / f"{f // DOCS_PER_FILE:05d}.yaml"
            path.write_text(
                "---\n".join(to_yaml(o, multi) for o in of_kind[f : f + DOCS_PER_FILE]), encoding="utf-8"
            )
            written.append(path)
    return written


def guilds_for(n: int) -> int:
    """Enough guilds that none goes over Discord's ceilings (500 channels, 100 commands)."""
    return max(1, -(-n // OBJECTS_PER_GUILD))


def generate(
    out_dir: Path, n: int, seed: int = 0, change_percent: float = 0.0, guilds: int | None = None
) -> None:
    """Write ``n`` mixed objects under ``out_dir`` (see the module docstring)."""
    objects = build(n, seed, guilds or guilds_for(n))
    apply_changes(objects, seed, change_percent)
    write(Path(out_dir), objects)


def generate_shape(out_dir: Path, shape: str, seed: int = 0, change_percent: float = 0.0) -> int:
    """Write the objects of ``shape`` under ``out_dir``; returns how many."""
    objects = build_shape(shape, seed)
    apply_changes(objects, seed, change_percent)
    write(Path(out_dir), objects)
    return len(objects)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("what", metavar="SHAPE|N", help=f"a shape ({', '.join(SHAPES)}) or a number of objects")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--change-percent", type=float, default=0.0, help="change this percentage of the objects (0..100)"
    )
    p.add_argument(
        "--guilds",
        type=int,
        default=None,
        help="with N: spread the objects over G guilds (default: 1 per 400)",
    )
    a = p.parse_args(argv)
    if not 0 <= a.change_percent <= 100:
        p.error("0 <= P <= 100 is required")
    if a.what in SHAPES:
        objects = build_shape(a.what, a.seed)
    elif a.what.isdigit():
        guilds = a.guilds or guilds_for(int(a.what))
        if int(a.what) < 1 or guilds < 1:
            p.error("N >= 1 and G >= 1 are required")
        objects = build(int(a.what), a.seed, guilds)
    else:
        p.error(f"{a.what!r} is neither a shape ({', '.join(SHAPES)}) nor a number")
    changed = apply_changes(objects, a.seed, a.change_percent)
    files = write(a.out_dir, objects)
    print(f"wrote {len(objects)} objects in {len(files)} files to {a.out_dir} ({changed} changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
