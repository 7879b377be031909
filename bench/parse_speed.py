"""Measurement script: how fast the loading layer parses a large spec set.

Generates ~500 files of 20 realistic documents each (Channel, Dashboard,
Command and Workflow objects shaped like those in the spec format) in a
temporary directory, then times discovery + reading, the fast path
(``load_fast``), the round-trip reference path (``load_roundtrip``) and
``interpolate`` over every document, and prints the figures.

Run: ``python bench/parse_speed.py [FILES] [DOCS_PER_FILE]``.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hlb.compiler.interpolate import interpolate
from hlb.compiler.loader import _fast_triples, load_fast
from hlb.compiler.roundtrip import load_roundtrip
from hlb.compiler.sources import SourceFile, discover, read_source

CHANNEL = """\
apiVersion: hlb/v1
kind: Channel
name: status-{n}
labels: {{team: infra, tier: "{n}"}}
spec:
  type: text
  display_name: "📊-status-{n}"
  category: infra
  topic: Live homelab status for host {n}
  position: {n}
  nsfw: false
  slowmode: 0
  permissions:
    - role: "@everyone"
      deny: [send_messages]
    - role: admins
      allow: [send_messages, manage_messages]
    - member: "123456789012345678"
      allow: [view_channel]
"""

DASHBOARD = """\
apiVersion: hlb/v1
kind: Dashboard
name: server-status-{n}
spec:
  channel: status-{n}
  refresh: 5m
  sources:
    nodes:
      http:
        url: http://prometheus:9090/api/v1/query?query=up
        headers: {{Authorization: "Bearer ${{secret:PROM_TOKEN}}"}}
        timeout: 5s
  content: "Updated {{{{ now | datetime }}}}"
  embeds:
    - title: Homelab status {n}
      description: "{{{{ sources.nodes.data.result | length }}}} targets up"
      color: "#2ecc71"
      url: https://grafana.example/d/home
      fields:
        - {{name: CPU, value: "{{{{ sources.nodes.cpu }}}}", inline: true}}
        - {{name: Memory, value: "{{{{ sources.nodes.mem }}}}", inline: true}}
      footer: {{text: managed by hlb}}
  components:
    - - button: {{label: Restart Plex, style: danger, workflow: restart-plex-{n}}}
      - button: {{label: Grafana, url: https://grafana.example}}
"""

COMMAND = """\
apiVersion: hlb/v1
kind: Command
name: uptime-{n}
spec:
  description: Show host uptime
  options:
    - name: host
      type: string
      description: Which host
      required: true
      choices: [nas, pi, router]
  default_member_permissions: [manage_guild]
  reply: "{{{{ options.host }}}} is up"
"""

WORKFLOW = """\
apiVersion: hlb/v1
kind: Workflow
name: restart-plex-{n}
spec:
  allowed_roles: [admins]
  inputs:
    - {{name: service, type: string, required: false}}
  triggers:
    - schedule: "0 8 * * *"
  steps:
    - id: call
      http:
        method: POST
        url: ${{HLB_DASH_URL:-http://dashboard:5000}}/api/deploy
        json: {{service: plex}}
        headers: {{Authorization: "Bearer ${{secret:DASH_TOKEN}}"}}
        timeout: 10s
    - reply: {{content: "Restarted: {{{{ steps.call.status }}}}", ephemeral: true}}
    - send: {{channel: status-{n}, content: "{{{{ user.name }}}} restarted Plex"}}
    - refresh: {{dashboard: server-status-{n}}}
"""

TEMPLATES = (CHANNEL, DASHBOARD, COMMAND, WORKFLOW)


def make_file_text(file_no: int, docs: int) -> str:
    """One spec file of ``docs`` documents cycling through the four kinds."""
    parts = []
    for i in range(docs):
        n = file_no * docs + i
        parts.append(f"# object {n}\n" + TEMPLATES[i % len(TEMPLATES)].format(n=n))
    return "---\n".join(parts)


def write_corpus(root: Path, files: int, docs: int) -> None:
    for f in range(files):
        sub = root / f"group{f % 10:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"specs{f:04d}.yaml").write_text(make_file_text(f, docs), encoding="utf-8")


def _timed(label: str, count: int, fn: Callable[[], object], repeat: int = 1) -> float:
    """Best of ``repeat`` runs, printed."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<34} {best * 1000:9.1f} ms   ({count / best:,.0f} documents/s)")
    return best


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    docs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    total = files * docs
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root, files, docs)
        size = sum(p.stat().st_size for p in root.rglob("*.yaml"))
        print(f"corpus: {files} files x {docs} documents = {total} objects, {size / 1e6:.1f} MB")
        sources: list[SourceFile] = []

        def read_all() -> None:
            paths, _ = discover([root])
            for p in paths:
                s = read_source(p)
                assert isinstance(s, SourceFile), s
                sources.append(s)

        _timed("discover + read", total, read_all)
        fast_files = sum(1 for s in sources if _fast_triples(s.text) is not None)
        print(f"files the fast path vouches for: {fast_files}/{len(sources)}")
        loaded: list[dict[str, Any]] = []

        def fast() -> None:
            loaded.clear()
            for s in sources:
                documents, diags = load_fast(s)
                assert not diags, diags
                loaded.extend(d.data for d in documents)

        t_fast = _timed("load_fast", total, fast, repeat=3)
        assert len(loaded) == total, len(loaded)
        gc.disable()
        _timed("load_fast (gc disabled)", total, fast, repeat=3)
        gc.enable()
        env = {"HLB_DASH_URL": "http://dash:5000"}
        _timed("interpolate", total, lambda: [interpolate(d, env) for d in loaded], repeat=3)

        def roundtrip() -> None:
            for s in sources:
                _documents, diags = load_roundtrip(s)
                assert not diags, diags

        t_rt = _timed("load_roundtrip", total, roundtrip)
        print(f"round-trip / fast ratio: {t_rt / t_fast:.1f}x")


if __name__ == "__main__":
    main()
