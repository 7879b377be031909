"""The YAML case files in tests/cases, read once per process for every test module that runs them."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

CASES_DIR = Path(__file__).parent / "cases"


@functools.cache
def load_cases() -> tuple[Any, ...]:
    """Each case of each file, as a pytest param whose id is ``<kind>: <case name>``."""
    params = []
    for case_file in sorted(CASES_DIR.glob("*.yaml")):
        data = YAML(typ="safe").load(case_file.read_text(encoding="utf-8"))
        for case in data["cases"]:
            params.append(pytest.param(case, id=f"{case_file.stem}: {case['name']}"))
    return tuple(params)
