"""`hlb --help` stays light: the database, template, YAML and schema libraries load only for commands that
use them (issue 13's target for `hlb --help` is 0.12 s; each of these costs tens of milliseconds)."""

from __future__ import annotations

import subprocess
import sys

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
