"""`hlb --help` stays light: the database, template, YAML and schema libraries load only for commands that
use them (issue 13's target for `hlb --help` is 0.12 s; each of these costs tens of milliseconds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = (
    "psycopg",
    "sqlalchemy",
    "alembic",
    "jinja2",
    "deepdiff",
    "ruamel",
    "yaml_rs",
    "jsonschema",
    "disnake",
)


def test_hlb_help_loads_none_of_the_heavy_libraries() -> None:
    code = (
        "import sys; sys.argv = ['hlb', '--help']\n"
        "from hlb.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage" in done.stdout
    assert done.stderr.strip() == "[]"


WARM_COMPILE = (
    "import sys\n"
    "from hlb.compile_cache import default_cache\n"
    "from hlb.compiler.compile import compile_paths\n"
    "result = compile_paths([sys.argv[1]], cache=default_cache())\n"
    "assert result.ok, result.diagnostics\n"
    "print('jinja2' in sys.modules)\n"
)


def test_a_compile_from_a_warm_cache_never_imports_jinja(tmp_path: Path) -> None:
    """Every kind check of an unchanged file comes from the cache, so the template engine (Jinja,
    tens of milliseconds to import) is not needed: a no-op `hlb apply` and a warm `hlb validate`
    skip it. The cold compile of the same files does check their templates."""
    specs = Path(__file__).resolve().parent.parent / "specs"
    env = {**os.environ, "HLB_HOME": str(tmp_path / ".hlb")}
    env.pop("HLB_NO_CACHE", None)

    def jinja_imported() -> str:
        done = subprocess.run(
            [sys.executable, "-c", WARM_COMPILE, str(specs)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert jinja_imported() == "True"  # cold: the dashboards' and workflows' templates are checked
    assert jinja_imported() == "False"  # warm: every check comes from the cache
