"""A new user's first hour, as the user meets it (the `hlb` command as a subprocess): the embedded
database's lifecycle, `--version`, shell completion and the emulator's command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hlb import __version__
from hlb.cli_version import parse_direct_url

ROOT = Path(__file__).resolve().parent.parent
HLB = str(Path(sys.executable).parent / "hlb")
GUILD = 'apiVersion: hlb/v1\nkind: Guild\nname: home\nspec: {id: "123456789012345678"}\n'
STARTING = "starting the embedded database in .hlb/ (first run takes a few seconds)…"


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user with no database configured."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HLB_DATABASE_URL", "HLB_HOME")}
    return env | extra


def hlb(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HLB, *args], cwd=cwd, env=user_env(**env), capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """An empty project directory; whatever embedded server a test starts in it is stopped afterwards."""
    (tmp_path / "g.yaml").write_text(GUILD, encoding="utf-8")
    yield tmp_path
    if (tmp_path / ".hlb" / "pg" / "postmaster.pid").exists():
        hlb(tmp_path, "db", "stop")


@pytest.mark.parametrize(
    "args", [["history"], ["show", "1"], ["status"], ["export"], ["plan", "g.yaml"], ["rollback", "1"]]
)
def test_read_only_commands_do_not_create_a_database(project: Path, args: list[str]) -> None:
    done = hlb(project, *args)
    assert done.returncode == 1, done.stdout
    assert done.stderr.strip() == "error: E611 no database here yet: run `hlb apply SPECS` to create one"
    assert not (project / ".hlb" / "pg").exists()
    assert "starting" not in done.stderr


def test_read_only_commands_with_database_url_still_reach_it(db_url: str, project: Path) -> None:
    done = hlb(project, "history", DATABASE_URL=db_url)
    assert done.returncode == 0, done.stderr
    assert "No revisions yet" in done.stdout and not (project / ".hlb").exists()


def test_the_embedded_database_lifecycle(project: Path) -> None:
    status = hlb(project, "db", "status")
    assert status.returncode == 0 and "state:   not created" in status.stdout
    assert not (project / ".hlb" / "pg").exists()  # status never creates or starts anything

    started = hlb(project, "db", "start")
    assert started.returncode == 0, started.stderr
    assert started.stderr.splitlines() == [STARTING]  # one line while the server starts, then quiet

    status = hlb(project, "db", "status")
    lines = dict(line.split(":", 1) for line in status.stdout.splitlines())
    assert lines["data"].strip() == str(project / ".hlb" / "pg")
    assert lines["socket"].strip() == str(project / ".hlb" / "pg")
    assert lines["state"].strip().startswith("running, pid ")
    assert lines["size"].strip().endswith("MB")

    again = hlb(project, "apply", "g.yaml", "-m", "first")  # it keeps running: no starting line
    assert again.returncode == 0 and STARTING not in again.stderr, again.stderr
    assert hlb(project, "history").stdout.count("first") == 1

    stopped = hlb(project, "db", "stop")
    assert stopped.returncode == 0 and stopped.stdout.startswith("stopped the embedded database")
    assert "state:   stopped" in hlb(project, "db", "status").stdout
    assert hlb(project, "db", "stop").stdout.startswith("not running")

    history = hlb(project, "history")  # the data is kept: the next command starts the server again
    assert history.returncode == 0 and "first" in history.stdout
    assert history.stderr.splitlines() == [STARTING]
    assert sorted(p.name for p in project.iterdir()) == [".hlb", "g.yaml"]  # all hlb wrote is in .hlb/


def test_db_start_and_stop_refuse_a_database_url(project: Path) -> None:
    done = hlb(project, "db", "stop", DATABASE_URL="postgresql://u:secretpw@127.0.0.1:1/x")
    assert done.returncode == 1 and "DATABASE_URL is set" in done.stderr and "secretpw" not in done.stderr
    status = hlb(project, "db", "status", DATABASE_URL="postgresql://u:secretpw@127.0.0.1:1/x")
    assert status.returncode == 0 and "secretpw" not in status.stdout and "u:***@" in status.stdout


def test_version_names_the_installed_commit(tmp_path: Path) -> None:
    done = hlb(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.startswith(f"hlb {__version__}")
    from importlib import metadata

    recorded = metadata.distribution("hlb").read_text("direct_url.json")
    installed_from = json.loads(recorded or "{}").get("url", "")
    if installed_from == ROOT.as_uri():  # this checkout, editable: its HEAD is the commit
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        assert f"commit {head.stdout.strip()}" in done.stdout
        assert f"editable, {ROOT}" in done.stdout


def test_direct_url_records_give_the_commit(tmp_path: Path) -> None:
    vcs = parse_direct_url(
        '{"url": "https://example.org/hlb.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}'
    )
    assert (vcs.commit, vcs.pip_requirement()) == ("abc123", "hlb @ git+https://example.org/hlb.git@abc123")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True)
    local = parse_direct_url(json.dumps({"url": tmp_path.as_uri(), "dir_info": {"editable": True}}))
    assert (local.commit, local.editable, local.pip_requirement()) == (head.stdout.strip(), True, None)
    assert parse_direct_url(None).commit is None and parse_direct_url("not json").commit is None


@pytest.mark.parametrize(
    "shell, marker", [("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete ")]
)
def test_completion_prints_a_script_that_completes(tmp_path: Path, shell: str, marker: str) -> None:
    done = hlb(tmp_path, "completion", shell)
    assert done.returncode == 0 and marker in done.stdout and "_HLB_COMPLETE" in done.stdout
    if shell == "bash":  # what the script asks hlb when the user presses Tab after `hlb db st`
        words = hlb(tmp_path, _HLB_COMPLETE="bash_complete", COMP_WORDS="hlb db st", COMP_CWORD="2")
        assert words.stdout.split() == ["plain,start", "plain,status", "plain,stop"]


def test_the_emulator_usage_is_plain_text() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hlb.testing", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m hlb.testing")
    assert "``" not in done.stdout and "export" in done.stdout


def test_the_emulator_prints_lines_a_shell_can_paste() -> None:
    emulator = subprocess.Popen(
        [sys.executable, "-m", "hlb.testing", "--guild-id", "100000000000000001"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        lines = [emulator.stdout.readline() for _ in range(6)]
    finally:
        emulator.terminate()
        code = emulator.wait(timeout=30)
    assert code == 0  # SIGTERM (as from a service manager) stops it cleanly, like Ctrl-C
    assert lines[0].startswith("# ")
    script = "".join(lines) + 'echo "$HLB_DISCORD_API_BASE|$DISCORD_TOKEN|$HLB_GUILD_ID"'
    base, token, guild = (
        subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
        .stdout.strip()
        .split("|")
    )
    assert base.startswith("http://127.0.0.1:") and base.endswith("/api/v10")
    assert token and guild == "100000000000000001"


@pytest.fixture(scope="module")
def installed_from_git(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This repository's HEAD installed by pip from its git URL (so pip writes a PEP 610 vcs_info)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:  # e.g. an unpacked sdist: the message says why
        pytest.skip(f"not a git checkout ({head.stderr.strip()}): nothing to install from a git URL")
    target = tmp_path_factory.mktemp("site")
    url = f"git+{ROOT.as_uri()}@{head.stdout.strip()}"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # a failed build is a packaging regression (or no package index for setuptools): never a skip
    assert done.returncode == 0, f"pip could not build hlb from {url}:\n{done.stderr}"
    return target, head.stdout.strip()


def test_an_install_from_git_pins_the_workflow_and_the_version(
    installed_from_git: tuple[Path, str], tmp_path: Path
) -> None:
    site, commit = installed_from_git
    env = user_env(PYTHONPATH=str(site))  # that copy of hlb, not this checkout's
    run = [sys.executable, "-m", "hlb.cli"]
    version = subprocess.run([*run, "--version"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert version.stdout.strip() == f"hlb {__version__} (commit {commit}, {ROOT.as_uri()})"
    init = subprocess.run([*run, "init", "repo"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    requirement = f"hlb @ git+{ROOT.as_uri()}@{commit}"
    assert f"The GitHub workflow installs {requirement}, the hlb that wrote it." in init.stdout
    workflow = (tmp_path / "repo" / ".github" / "workflows" / "hlb.yml").read_text("utf-8")
    assert f'HLB_PIP_SPEC: "{requirement}"' in workflow and "EDIT ME" not in workflow
