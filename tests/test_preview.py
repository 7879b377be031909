"""`hlb preview`: Discord-looking HTML of the dashboards and commands, and PNGs through headless Chromium."""

from __future__ import annotations

import html
import http.server
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from bounded import bounded
from click.testing import CliRunner, Result
from prometheus_samples import PROM_LOAD, PROM_UP

from hlb.cli_pages import preview
from hlb.preview import CHROMIUM_MISSING, find_chromium, markdown, screenshot

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n'
CHANNEL = "---\napiVersion: hlb/v1\nkind: Channel\nname: board\nspec: {display_name: the-board, topic: Hi}\n"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HLB_NO_CACHE", "1")
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> Result:
    return CliRunner().invoke(preview, list(args), catch_exceptions=False)


def dashboard_spec(tmp_path: Path, body: str) -> Path:
    """A spec set of one guild, one channel and the Dashboard ``body`` (its ``spec:`` block, indented)."""
    (tmp_path / "specs").mkdir(exist_ok=True)
    doc = f"---\napiVersion: hlb/v1\nkind: Dashboard\nname: board\nspec:\n  channel: board\n{body}"
    (tmp_path / "specs" / "all.yaml").write_text(GUILD + CHANNEL + doc, encoding="utf-8")
    return tmp_path / "specs"


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample.json"
    path.write_text(json.dumps({"server-status": {"targets": PROM_UP, "load": PROM_LOAD}}), encoding="utf-8")
    return path


def test_preview_of_the_reference_specs(tmp_path: Path, sample_file: Path) -> None:
    out = tmp_path / "out"
    result = run(str(SPECS), "--out", str(out), "--data", str(sample_file), "--no-png")
    assert result.exit_code == 0, result.output
    assert f"wrote {out / 'index.html'} and 3 dashboard pages" in result.output
    assert "note: dashboard media: source queue: no sample data" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html",
        "media.html",
        "server-status.html",
        "welcome.html",
    ]
    index = (out / "index.html").read_text(encoding="utf-8")
    status = (out / "server-status.html").read_text(encoding="utf-8")
    # grouped by channel, with the channel's Discord name; each dashboard page holds its own message only
    assert index.index("📊-status") < index.index("Homelab status") < index.index("📥-downloads")
    assert index.index("📥-downloads") < index.index("Download queue")
    assert "Welcome to the homelab" in index and "Welcome to the homelab" not in status
    for page in (index, status):
        assert '<span class="bot-tag">BOT</span>' in page
        assert "border-left-color: #2ecc71" in page
        assert re.search(
            r'<a href="http://grafana.lan:3000/d/homelab/overview"[^>]*>Homelab status</a>', page
        )
        assert "2 of 3 Prometheus targets are up." in page  # the --data sample, rendered
        assert '<code class="inline">nas:9100</code> 0.43' in page
        # buttons by style; a link button is an anchor with the ↗ icon
        assert re.search(
            r'class="button button-danger">\s*<span class="button-label">Restart Plex</span>', page
        )
        assert re.search(r'class="button button-secondary">\s*<span class="button-label">Refresh now', page)
        assert re.search(
            r'<a class="button button-link" href="http://grafana.lan:3000/d/homelab/overview"', page
        )
        assert 'class="link-icon"' in page
        # the two inline fields share a row of the grid; the first field takes the full width
        assert re.search(
            r'class="embed-field" style="grid-column: 1 / 13">\s*<div class="embed-field-name">Down', page
        )
        assert 'class="embed-field inline" style="grid-column: 1 / 7">' in page
        assert 'class="embed-field inline" style="grid-column: 7 / 13">' in page
    media = (out / "media.html").read_text(encoding="utf-8")
    assert '<span class="select-placeholder">Restart a media service…</span>' in media
    assert '<span class="option-label">qBittorrent</span>' in media
    assert "⚠ Data unavailable" in media and '<code class="inline">queue</code>: no sample data' in media
    # self-contained: nothing is loaded from elsewhere, and a CSP forbids it
    for page in (index, status, media):
        assert "<link" not in page and "@import" not in page and "<img" not in page
        assert "content=\"default-src 'none';" in html.unescape(page)


def test_the_command_list(tmp_path: Path) -> None:
    assert run(str(SPECS), "--out", "out", "--no-png").exit_code == 0
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    commands = index[index.index('class="commands"') :]
    assert re.search(
        r'<span class="command-name">/uptime</span>\s*<span class="option-pill required">host</span>',
        commands,
    )
    assert '<span class="command-description">Show how long a host has been up</span>' in commands
    uptime = commands[commands.index('id="command-uptime"') :]
    assert re.search(
        r'<code>host</code>\s*<span class="option-type">string</span>\s*<span class="option-required">',
        uptime,
    )
    assert "choices: <code>nas</code> <code>pi</code> <code>router</code> <code>proxmox</code>" in uptime
    deploy = commands[commands.index('id="command-deploy"') :]
    assert re.search(
        r'<code>ref</code>\s*<span class="option-type">string</span>\s*<span class="option-optional">', deploy
    )
    assert "runs workflow deploy · needs manage_guild" in deploy
    assert "replies with a template" in commands[commands.index('id="command-status"') :]


def test_a_source_without_sample_data_shows_the_unavailable_note(tmp_path: Path) -> None:
    specs = dashboard_spec(
        tmp_path,
        "  sources:\n    feed: {http: {url: 'http://feed.invalid/x'}}\n"
        "  embeds:\n    - {title: Feed, description: \"{{ sources.feed.count | default('?') }} items\"}\n",
    )
    result = run(str(specs), "--out", "out", "--no-png")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "board.html").read_text(encoding="utf-8")
    assert "⚠ Data unavailable" in page and "no sample data" in page
    assert "? items" in page
    assert "the-board" in page


def test_sample_data_from_a_yaml_file_and_unused_entries_are_noted(tmp_path: Path) -> None:
    specs = dashboard_spec(
        tmp_path,
        "  sources:\n    feed: {http: {url: 'http://feed.invalid/x'}}\n"
        "  embeds:\n    - {title: Feed, description: '{{ sources.feed.count }} items'}\n",
    )
    (tmp_path / "data.yaml").write_text("board:\n  feed: {count: 7}\n  typo: 1\nnope: {}\n", encoding="utf-8")
    result = run(str(specs), "--out", "out", "--data", "data.yaml", "--no-png")
    assert result.exit_code == 0, result.output
    assert "note: --data: no dashboard is named 'nope'" in result.output
    assert "note: --data: dashboard 'board' has no source named 'typo'" in result.output
    page = (tmp_path / "out" / "board.html").read_text(encoding="utf-8")
    assert "7 items" in page and "Data unavailable" not in page


def test_inline_fields_fill_rows_of_three(tmp_path: Path) -> None:
    fields = "".join(f"        - {{name: F{i}, value: v{i}, inline: true}}\n" for i in range(4))
    specs = dashboard_spec(
        tmp_path, f"  embeds:\n    - title: Grid\n      fields:\n{fields}        - {{name: Wide, value: w}}\n"
    )
    assert run(str(specs), "--out", "out", "--no-png").exit_code == 0
    page = (tmp_path / "out" / "board.html").read_text(encoding="utf-8")
    columns = re.findall(r'class="embed-field( inline)?" style="grid-column: ([\d /]+)">', page)
    assert columns == [
        (" inline", "1 / 5"),
        (" inline", "5 / 9"),
        (" inline", "9 / 13"),
        (" inline", "1 / 13"),
        ("", "1 / 13"),
    ]


def test_spec_text_is_escaped(tmp_path: Path) -> None:
    specs = dashboard_spec(
        tmp_path,
        "  content: '**Hi** <script>alert(1)</script> see [docs](https://docs.example/a_b_c)'\n"
        "  embeds:\n"
        "    - title: '<script>alert(2)</script>'\n"
        '      description: "<img src=x onerror=alert(3)> [x](javascript:alert(4)) `<b>` _it_\\nnext"\n'
        "      fields: [{name: '<i>n</i>', value: '\"><svg onload=alert(5)>'}]\n"
        "      footer: {text: '</div><script>alert(6)</script>'}\n"
        "  components:\n"
        "    - - button: {label: '<b>x</b>', url: 'https://e.example/?a=\"><script>'}\n",
    )
    result = run(str(specs), "--out", "out", "--no-png")
    assert result.exit_code == 0, result.output
    for name in ("board.html", "index.html"):
        page = (tmp_path / "out" / name).read_text(encoding="utf-8")
        for attack in (
            "<script>alert",
            "<img src=x",
            "<svg onload",
            'javascript:alert(4)"',
            "<b>x</b>",
            "<i>n</i>",
        ):
            assert attack not in page, attack
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=alert(3)&gt;" in page
        assert "<strong>Hi</strong>" in page
        assert (
            '<a href="https://docs.example/a_b_c" rel="noopener noreferrer" target="_blank">docs</a>' in page
        )
        assert '<code class="inline">&lt;b&gt;</code> <em>it</em><br>next' in page
        assert len(re.findall(r"<script>", page)) == 1  # the page's own height probe, hashed in the CSP


def test_markdown_lite() -> None:
    assert (
        markdown("**b** *i* __u__ ~~s~~ `c*d`")
        == '<strong>b</strong> <em>i</em> <u>u</u> <s>s</s> <code class="inline">c*d</code>'
    )
    assert markdown("a\nb & <c>") == "a<br>b &amp; &lt;c&gt;"
    assert markdown("see https://x.example/p_q_r.") == (
        'see <a href="https://x.example/p_q_r" rel="noopener noreferrer" target="_blank">https://x.example/p_q_r</a>.'
    )
    assert markdown("[**go**](https://x.example)") == (
        '<a href="https://x.example" rel="noopener noreferrer" target="_blank"><strong>go</strong></a>'
    )
    assert (
        markdown("```py\nx = '<y>'\n```")
        == '<pre class="codeblock"><code>x = &#x27;&lt;y&gt;&#x27;\n</code></pre>'
    )
    assert markdown("snake_case_name") == "snake_case_name"
    assert markdown("\x00 0 \x00") == " 0 "


def test_compile_errors_exit_like_validate(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        GUILD + "---\napiVersion: hlb/v1\nkind: Dashboard\nname: x\nspec: {}\n"
    )
    result = CliRunner().invoke(preview, ["bad.yaml", "--out", "out"])
    assert result.exit_code == 1
    assert re.search(r"bad\.yaml:\d+:\d+: E\d{3} ", result.output)
    assert "nothing was changed" in result.output
    assert not (tmp_path / "out").exists()


def test_a_bad_data_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text("[1, 2]", encoding="utf-8")
    result = CliRunner().invoke(preview, [str(SPECS), "--data", "data.json"])
    assert result.exit_code == 1
    assert "error: --data:" in result.output and "expected a mapping" in result.output
    (tmp_path / "data.yaml").write_text("a: [", encoding="utf-8")
    result = CliRunner().invoke(preview, [str(SPECS), "--data", "data.yaml"])
    assert result.exit_code == 1 and "is not valid YAML" in result.output


def test_missing_chromium_skips_the_pngs_with_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HLB_CHROMIUM", str(tmp_path / "no-such-chromium"))
    result = run(str(SPECS), "--out", "out")
    assert result.exit_code == 0, result.output
    assert result.output.count(CHROMIUM_MISSING) == 1
    assert CHROMIUM_MISSING == "PNG skipped: Chromium not found (apt-get install chromium)"
    assert not list((tmp_path / "out").glob("*.png"))


FAKE_CHROMIUM = """#!/bin/sh
# A stand-in for Chromium: hangs on its first run (with a child holding its output), then works.
if [ ! -e "$MARKER" ]; then touch "$MARKER"; sleep 60 & sleep 60; fi
for arg in "$@"; do
    case "$arg" in
        --dump-dom) echo '<html data-height="321"><body></body></html>' ;;
        --screenshot=*) printf 'fake png' > "${arg#--screenshot=}" ;;
    esac
done
"""


def test_a_hung_chromium_is_ended_and_tried_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text(FAKE_CHROMIUM, encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("MARKER", str(tmp_path / "marker"))
    page = tmp_path / "page.html"
    page.write_text("<html></html>", encoding="utf-8")
    started = time.monotonic()
    png = screenshot(str(fake), page, tmp_path / "page.png", timeout=1, attempts=2)
    assert png.read_bytes() == b"fake png"
    assert time.monotonic() - started < 10


def test_the_pages_are_shot_at_the_same_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three pages, two Chromium runs each of half a second: about 1 s at once, 3 s one after another."""
    fake = tmp_path / "slow-chromium"
    fake.write_text(FAKE_CHROMIUM.replace('if [ ! -e "$MARKER" ]', "sleep 0.5; if false"), encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("HLB_CHROMIUM", str(fake))
    started = time.monotonic()
    result = run(str(SPECS), "--out", "out")
    took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    wrote = [line.split("/")[-1] for line in result.output.splitlines() if line.endswith(".png")]
    assert sorted(wrote) == ["media.png", "server-status.png", "welcome.png"], result.output
    assert all((tmp_path / "out" / name).read_bytes() == b"fake png" for name in wrote)
    assert took < 2.5, took


def test_a_failing_chromium_never_fails_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'no display' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("HLB_CHROMIUM", str(fake))
    result = run(str(SPECS), "--out", "out")
    assert result.exit_code == 0, result.output
    assert (
        "PNG of welcome failed: Chromium exited with 3 and gave no page height: no display" in result.output
    )
    assert not list((tmp_path / "out").glob("*.png"))


class _Feed(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"count": 42, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_live_fetches_only_what_the_data_file_leaves_out(
    tmp_path: Path, feed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HLB_SECRET_FEED_TOKEN", "t0ken")
    monkeypatch.setenv("FEED_TOKEN", "bare-name-is-no-secret")
    specs = dashboard_spec(
        tmp_path,
        "  sources:\n"
        f"    live: {{http: {{url: '{feed}/a', headers: {{Authorization: '${{secret:FEED_TOKEN}}'}}}}}}\n"
        f"    given: {{http: {{url: '{feed}/b'}}}}\n"
        "  embeds:\n"
        "    - title: Feed\n"
        "      description: '{{ sources.live.count }} live, {{ sources.given.count }} given'\n",
    )
    (tmp_path / "data.json").write_text(json.dumps({"board": {"given": {"count": 5}}}), encoding="utf-8")
    offline = run(str(specs), "--out", "off", "--data", "data.json", "--no-png")
    assert offline.exit_code == 0 and "source live: no sample data" in offline.output
    result = run(str(specs), "--out", "out", "--data", "data.json", "--no-png", "--live")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "board.html").read_text(encoding="utf-8")
    assert "42 live, 5 given" in page
    assert "t0ken" not in page


# --- PNG --------------------------------------------------------------------------------------------


def _add_bytes(x: bytes | bytearray, y: bytes | bytearray) -> bytearray:
    """``x[i] + y[i]`` modulo 256 for every byte, as one big-integer sum per half (no carries cross)."""
    size = len(x)
    lows, highs = int.from_bytes(b"\x7f" * size, "big"), int.from_bytes(b"\x80" * size, "big")
    a, b = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    return bytearray((((a & lows) + (b & lows)) ^ ((a ^ b) & highs)).to_bytes(size, "big"))


def _unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> bytearray:
    """One scanline with its PNG filter undone (``previous`` is the row above, already undone)."""
    if kind == 0:  # None: the row as it is
        return line
    if kind == 2:  # Up, most of Chromium's rows: one sum for the whole row
        return _add_bytes(line, previous)
    for x in range(len(line)):
        a = line[x - bpp] if x >= bpp else 0
        if kind == 1:  # Sub
            line[x] = (line[x] + a) & 0xFF
            continue
        b = previous[x]
        if kind == 3:  # Average
            line[x] = (line[x] + (a + b) // 2) & 0xFF
        elif kind == 4:  # Paeth
            c = previous[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return line


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """``(width, height, rows of RGB(A) bytes)`` of an 8-bit RGB or RGBA PNG, with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
        if kind == b"IEND":
            break
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 4 if color == 6 else 3
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        assert kind <= 4, f"row {y} has filter {kind}"
        line = _unfilter(kind, line, previous, bpp)
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def test_the_pages_render_in_headless_chromium(tmp_path: Path, sample_file: Path) -> None:
    if find_chromium() is None:
        pytest.skip(
            "Chromium is not installed (apt-get install chromium): the PNG screenshots are not tested"
        )
    result = run(str(SPECS), "--out", "out", "--data", str(sample_file))
    assert result.exit_code == 0, result.output
    assert "PNG skipped" not in result.output and "failed" not in result.output, result.output
    decoded = {}
    for name in ("server-status", "media", "welcome"):
        png = tmp_path / "out" / f"{name}.png"
        assert f"wrote {Path('out') / png.name}" in result.output
        data = png.read_bytes()
        assert len(data) > 5000, f"{png.name} is suspiciously small"
        width, height, rows = decoded[name] = decode_png(data)
        assert width == 900 and 200 <= height <= 2000, (png.name, width, height, result.output)
        bpp = len(rows[0]) // width
        colours = {row[x : x + 3] for row in rows[::3] for x in range(0, len(row), bpp * 3)}
        assert len(colours) > 50, f"{png.name} looks blank: {len(colours)} colours"
    # the embed's colour bar (#2ecc71) and the danger button (#da373c) are on the status screenshot
    _, _, rows = decoded["server-status"]
    pixels = {row[x : x + 3] for row in rows for x in range(0, len(row), len(row) // 900)}
    for colour in ("2ecc71", "da373c"):
        assert bytes.fromhex(colour) in pixels, f"#{colour} is missing from server-status.png"


@pytest.mark.timeout(60)
def test_a_dashboard_over_a_template_limit_shows_its_error_and_the_others_render(tmp_path: Path) -> None:
    big = "{'s': {'http': {'url': 'http://x.invalid/'}}}"
    specs = dashboard_spec(
        tmp_path,
        f"  sources: {big}\n"
        "  content: \"{{ 'x' * sources.s.n }}\"\n"
        "  embeds:\n"
        "    - title: '{{ lipsum(sources.s.n) }}'\n"
        "      description: '{% for a in range(sources.s.k) %}{% for b in range(sources.s.k) %}"
        "{% endfor %}{% endfor %}'\n"
        "      fields: [{name: fine, value: 'k is {{ sources.s.k }}'}]\n"
        "---\napiVersion: hlb/v1\nkind: Dashboard\nname: calm\nspec:\n  channel: board\n"
        "  content: 'all {{ \"good\" }}'\n",
    )
    data = {"board": {"s": {"n": 10**9, "k": 10_000}}}
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    with bounded(seconds=20, mib=100):
        result = run(str(specs), "--out", "out", "--data", "data.json", "--no-png")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("note: dashboard board: ")]
    assert [n.split(": ")[2] for n in notes] == ["content", "embeds[0].title", "embeds[0].description"]
    for note, limit in zip(notes, ("value size", "lipsum", "loop iterations"), strict=True):
        assert f": over the template limit on {limit}" in note, note
    page = html.unescape((tmp_path / "out" / "board.html").read_text(encoding="utf-8"))
    assert page.count("⚠ render error: over the template limit on") == 3
    assert "k is 10000" in page
    calm = html.unescape((tmp_path / "out" / "calm.html").read_text(encoding="utf-8"))
    assert "all good" in calm and "render error" not in calm


def test_the_documented_command_works_on_the_shipped_sample_data(tmp_path: Path) -> None:
    """docs/preview.md's command, run as written at the root of a clone (here: a copy of what it reads)."""
    import os
    import shutil
    import subprocess
    import sys

    block = re.search(r"```sh\n(.*?)```", (ROOT / "docs" / "preview.md").read_text("utf-8"), re.S)
    assert block is not None
    command, *expected = block.group(1).splitlines()
    shutil.copytree(SPECS, tmp_path / "specs")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    hlb = Path(sys.executable).parent / "hlb"
    env = {**os.environ, "HLB_CHROMIUM": str(tmp_path / "no-chromium")}
    done = subprocess.run(
        [str(hlb), *command.split()[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == expected[0].removeprefix("# ")
    assert "note:" not in done.stdout  # the sample data covers every source, and nothing else
    media = (tmp_path / ".hlb" / "preview" / "media.html").read_text("utf-8")
    assert "Severance S02E03 (downloading)" in media and "Data unavailable" not in media
