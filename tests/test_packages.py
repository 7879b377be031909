"""The package boundaries that import-linter cannot see: the compiler writes nothing and runs nothing.

import-linter (tests/test_quality.py, contracts in pyproject.toml) keeps the compiler away
from the store, the database drivers and disnake. What it cannot see is a call: this scans
every module of ``compiler/`` with ``ast`` for files written, directories made, files
moved or removed, and programs run (git included). ``permissions.write_schema_enum`` is the
maintenance entry point that regenerates a schema file by hand; nothing else may write (the
compile cache's files are the CLI's: ``hlb.compile_cache``, see tests/test_compiler_pure.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPILER = ROOT / "compiler"

# method names that write to the file system, whatever object they are called on
WRITING_METHODS = {"write_text", "write_bytes", "mkdir", "makedirs", "touch", "unlink", "rmdir", "rename",
                   "replace", "symlink_to", "hardlink_to", "chmod"}
# modules whose mere import means running programs
RUNNING_MODULES = {"subprocess", "pty", "multiprocessing"}
ALLOWED = {("permissions.py", "write_schema_enum")}


def _modules() -> list[Path]:
    return sorted(COMPILER.rglob("*.py"))


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[str] = []

    def visit(node: ast.AST, function: str | None) -> None:
        if (path.name, None) in ALLOWED or (path.name, function) in ALLOWED:
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            running = [n for n in names if n.split(".")[0] in RUNNING_MODULES]
            found.extend(f"{path.name}:{node.lineno} imports {n}" for n in running)
        if isinstance(node, ast.Call):
            func = node.func
            writing = isinstance(func, ast.Attribute) and func.attr in WRITING_METHODS
            if writing and not (_name(func) == "replace" and _is_str_replace(node)):
                found.append(f"{path.name}:{node.lineno} calls .{func.attr}()")
            if isinstance(func, ast.Attribute) and func.attr in {"system", "popen", "execv", "spawnv"}:
                found.append(f"{path.name}:{node.lineno} runs a program (.{func.attr})")
            if _name(func) in {"open", "fdopen"} and _writes(node):
                found.append(f"{path.name}:{node.lineno} opens a file for writing")
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, None)
    return found


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _is_str_replace(call: ast.Call) -> bool:
    """``text.replace(old, new)`` (two arguments) rather than ``os.replace``/``Path.replace(target)``."""
    owner = call.func.value if isinstance(call.func, ast.Attribute) else None
    return len(call.args) >= 2 and not (isinstance(owner, ast.Name) and owner.id == "os")


def _writes(call: ast.Call) -> bool:
    modes = [a for a in call.args[1:2]] + [k.value for k in call.keywords if k.arg == "mode"]
    flags = [k.value for k in call.keywords if k.arg == "flags"] + list(call.args[1:2])
    text = " ".join(ast.unparse(m) for m in modes + flags)
    return any(c in text for c in ("'w", "'a", "'x", "+", "O_WRONLY", "O_RDWR", "O_CREAT"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_compiler_module_writes_nothing_and_runs_nothing(path: Path) -> None:
    assert _problems(path) == []


def test_the_scan_sees_writes_and_programs(tmp_path: Path) -> None:
    """The scan is not blind: each kind of call it looks for is found in a sample module."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import subprocess\nfrom pathlib import Path\nimport os\n"
        "def f(p: Path) -> None:\n"
        "    p.write_text('x')\n    p.mkdir()\n    os.replace('a', 'b')\n"
        "    open(p, 'w')\n    os.open(p, os.O_WRONLY)\n    os.system('git status')\n"
        "    'text'.replace('a', 'b')\n    open(p)\n",
        encoding="utf-8",
    )
    found = _problems(sample)
    assert [line.split(" ", 1)[0] for line in found] == [
        "sample.py:1", "sample.py:5", "sample.py:6", "sample.py:7",
        "sample.py:8", "sample.py:9", "sample.py:10",
    ], found
