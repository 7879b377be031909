"""Library code never changes process-wide state; only the CLI entry points may.

Scans, with ``ast``, every module of the library packages (``hlb/`` but its
CLI modules, ``compiler/``, ``reconciler/``, ``bot/``, ``migrations/``) for
calls that change the whole process: forking, tuning the garbage collector,
installing signal handlers, changing the environment or the working
directory, the interpreter's switch interval. ``hlb/testing/`` (the Discord
emulator) ships in the wheel and is scanned too; its ``__main__.py`` is a
program's entry point (``python -m hlb.testing``) and, like ``hlb/cli*.py``,
may own its process.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import PACKAGES

ROOT = Path(__file__).resolve().parent.parent

# module.attribute calls that change the process (whatever the module is imported as)
FORBIDDEN_CALLS = {
    ("os", "fork"),
    ("os", "forkpty"),
    ("os", "register_at_fork"),
    ("os", "putenv"),
    ("os", "unsetenv"),
    ("os", "chdir"),
    ("os", "fchdir"),
    ("os", "setsid"),
    ("os", "umask"),
    ("pty", "fork"),
    ("gc", "disable"),
    ("gc", "enable"),
    ("gc", "freeze"),
    ("gc", "unfreeze"),
    ("gc", "set_threshold"),
    ("signal", "signal"),
    ("signal", "setitimer"),
    ("signal", "alarm"),
    ("signal", "pthread_sigmask"),
    ("signal", "set_wakeup_fd"),
    ("sys", "setswitchinterval"),
    ("sys", "setrecursionlimit"),
    ("sys", "settrace"),
    ("sys", "setprofile"),
    ("faulthandler", "enable"),
    ("atexit", "register"),
    ("contextlib", "chdir"),
}
# methods that install signal handlers whatever object they are called on
FORBIDDEN_METHODS = {"add_signal_handler", "remove_signal_handler"}
# methods that change os.environ
ENVIRON_MUTATORS = {"update", "pop", "popitem", "setdefault", "clear", "__setitem__", "__delitem__"}


def _may_own_process(path: Path) -> bool:
    """The CLI entry points: ``hlb/cli.py``, ``hlb/cli_*.py`` and the emulator's ``__main__``."""
    rel = path.relative_to(ROOT)
    return (
        rel.parts[0] == "hlb" and len(rel.parts) == 2 and rel.name.startswith("cli")
    ) or rel.as_posix() == ("hlb/testing/__main__.py")


def library_modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts and not _may_own_process(path):
                found.append(path)
    return found


def _aliases(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, attribute or None) for every import of the module."""
    names: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
    return names


def _is_environ(node: ast.expr, names: dict[str, tuple[str, str | None]]) -> bool:
    """``os.environ`` (through any import of it)."""
    if isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name):
        return names.get(node.value.id, ("", None))[0] == "os"
    if isinstance(node, ast.Name):
        return names.get(node.id) == ("os", "environ")
    return False


def violations(source: str, where: str) -> list[str]:
    """Each process-wide change in ``source`` (the text of the file ``where``), as ``where:line: what``."""
    tree = ast.parse(source, where)
    names = _aliases(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                if func.attr in FORBIDDEN_METHODS:
                    what = f".{func.attr}()"
                elif func.attr in ENVIRON_MUTATORS and _is_environ(func.value, names):
                    what = f"os.environ.{func.attr}()"
                elif isinstance(func.value, ast.Name) and func.value.id in names:
                    module = names[func.value.id]
                    full = module[0] if module[1] is None else f"{module[0]}.{module[1]}"
                    if (full, func.attr) in FORBIDDEN_CALLS:
                        what = f"{full}.{func.attr}()"
            elif isinstance(func, ast.Name) and func.id in names:
                module, attr = names[func.id]
                if attr is not None and (module, attr) in FORBIDDEN_CALLS:
                    what = f"{module}.{attr}()"
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and _is_environ(target.value, names):
                    what = "os.environ[...] changed"
        if what is not None:
            found.append(f"{where}:{getattr(node, 'lineno', 0)}: {what}")
    return found


def test_library_code_leaves_the_process_alone() -> None:
    modules = library_modules()
    scanned = {p.relative_to(ROOT).parts[0] for p in modules}
    assert scanned == set(PACKAGES)
    assert any(p.relative_to(ROOT).parts[:2] == ("hlb", "testing") for p in modules)
    found = [v for p in modules for v in violations(p.read_text("utf-8"), p.relative_to(ROOT).as_posix())]
    assert found == [], "library code changes process-wide state:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.fork()",
        "import os as o\no.fork()",
        "from os import fork\nfork()",
        "import gc\ngc.disable()",
        "import gc\ngc.freeze()",
        "import gc\ngc.set_threshold(1)",
        "import signal\nsignal.signal(signal.SIGINT, None)",
        "loop.add_signal_handler(2, print)",
        "import os\nos.environ['A'] = '1'",
        "import os\nos.environ.update(A='1')",
        "import os\nos.environ.pop('A')",
        "from os import environ\nenviron['A'] = '1'",
        "import os\ndel os.environ['A']",
        "import os\nos.putenv('A', '1')",
        "import os\nos.chdir('/')",
        "import sys\nsys.setswitchinterval(1)",
    ],
)
def test_the_scan_sees_each_kind_of_change(code: str) -> None:
    assert len(violations(code, "probe.py")) == 1, code


@pytest.mark.parametrize(
    "code",
    [
        "import os\nos.environ.get('A')",
        "import os\nx = os.environ['A']",
        "import gc\ngc.collect()",
        "import signal\nos.kill(1, signal.SIGINT)",
        "env = {}\nenv['A'] = '1'\nenv.update(B='2')",
    ],
)
def test_the_scan_lets_reads_through(code: str) -> None:
    assert violations(code, "probe.py") == [], code


def test_the_cli_entry_points_are_not_scanned() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in library_modules()}
    assert "hlb/cli.py" not in names and "hlb/cli_common.py" not in names
    assert "hlb/testing/__main__.py" not in names
    assert "hlb/settings.py" in names and "compiler/cache.py" in names


def test_compile_and_apply_start_no_thread(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compile (with its cache) and the apply run on the caller's thread: no helper to wait for."""
    import threading

    from hlb.compile_cache import CompileCache
    from hlb.compiler.compile import compile_paths
    from hlb.store.apply import apply_model

    started: list[str] = []
    start = threading.Thread.start

    def counting(self: threading.Thread) -> None:
        started.append(self.name)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", counting)
    cache = CompileCache(tmp_path / "cache")
    result = compile_paths([str(ROOT / "specs")], env={}, cache=cache)
    assert result.model is not None and cache.writes > 1
    assert len(list((tmp_path / "cache").glob("*.json"))) == cache.writes  # on disk when compile returns
    apply_model(db_url, result.model, author="test", echo=lambda _line: None)
    assert started == []


def test_the_command_group_in_a_test_process_leaves_its_collector_alone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests invoke the click group in their own process: only the program (`hlb.cli.run`) tunes gc."""
    import gc

    from click.testing import CliRunner

    from hlb.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    before = (gc.get_threshold(), gc.get_freeze_count())
    result = CliRunner().invoke(main, ["plan", str(ROOT / "specs")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_the_program_tunes_its_own_collector(tmp_path: Path) -> None:
    """`hlb` as a program (the installed script runs ``hlb.cli:run``) raises the collector's thresholds."""
    import subprocess
    import sys

    code = (
        "import atexit, gc\natexit.register(lambda: print(gc.get_threshold()))\n"
        "from hlb.cli import run\nrun()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "validate", str(ROOT / "specs")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "(100000, 50, 100)"
