"""Benchmark of the compiler path: wall time of whole `hlb` processes on the shapes Discord allows.

Usage: python bench/compiler_bench.py [--shapes homelab,community,fleet] [--repeat 3] [--no-reference]

For each shape (bench/generate.py: homelab 96 objects, community 711 at
Discord's ceilings, fleet 25 guilds and 10,000 objects) it writes the spec
directory, starts a fresh embedded Postgres in a temporary HLB_HOME (not
measured) and times, as separate `hlb` processes (best of ``--repeat``):
validate, plan against the empty database, the first apply (into an emptied
database, cache emptied), an apply with 1% of the objects changed (the
changed files are written over the spec directory, so the other files keep
their cache entries) and a no-op apply. Rows are measured with
``HLB_NO_CACHE=1`` (no cache) and with the cache filled by an earlier run on
the same files (warm: the everyday case).

Next to them, in the same run, the reference path of issue 13:
bench/reference_apply.py (ruamel.yaml round trip + python-jsonschema, the
same compile, a DeepDiff of every object, writes through the SQLAlchemy ORM
in one transaction; it writes the rows `hlb apply` writes), timed as a whole
process for the first apply (into an emptied database) and a no-op apply,
and the ratio of each to `hlb apply` (first apply: cache emptied; no-op:
warm cache, the everyday case). It also times `hlb --help`.

Every figure is the best wall time and, beside it, the CPU time (user +
sys) of that process: on a shared machine wall time follows the load, CPU
time much less (it leaves out the database server's work).

Targets (issue 13, 2 cores): fleet first apply <= 2.5 s, fleet no-op apply
<= 0.8 s, homelab apply <= 0.5 s, `hlb --help` <= 0.12 s, the reference path
>= 30x the fast one on the fleet.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import SHAPES, generate_shape

_SCRIPT = Path(sys.executable).parent / "hlb"
HLB = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "hlb.cli"]
REFERENCE = [sys.executable, str(Path(__file__).resolve().parent / "reference_apply.py")]
MODES = ("no cache", "warm")


class Time(float):
    """A best wall time (the float) with the CPU time (user + sys) of the same run."""

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> Time:
        made = super().__new__(cls, wall)
        made.cpu = cpu
        return made

    def __str__(self) -> str:
        return f"{float(self):.3f}s ({self.cpu:.2f} cpu)"


def hlb_env() -> dict[str, str]:
    """The environment of the timed processes: this one's, but Python may keep the bytecode of what it
    imports (``__pycache__``), as an installed hlb has it. With PYTHONDONTWRITEBYTECODE set (some
    development shells set it), every `hlb` process of an editable install compiled hlb's modules from
    source again: 0.03 to 0.05 s of each process, `hlb --help` included."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    args: list[str], env: dict[str, str], repeat: int = 1, before: Callable[[], None] | None = None
) -> Time:
    """Best wall time over ``repeat`` runs of one process (which must succeed), with its CPU time."""
    best = Time(float("inf"), float("inf"))
    for _ in range(repeat):
        if before is not None:
            before()
        # What the run before wrote or deleted (the bench's own cleanup: 500 cache files, a truncated
        # table) goes to the disk now, not on this run's clock: on the development machine's ext4 it
        # added 0.1-0.4 s to the fleet's first apply.
        os.sync()
        cpu = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        if elapsed < best:
            best = Time(elapsed, _children_cpu() - cpu)
    return best


class Bench:
    """One shape: a spec directory, an embedded database, a cache directory."""

    def __init__(self, work: Path, shape: str, repeat: int) -> None:
        self.repeat = repeat
        self.specs, self.changed = work / "specs", work / "changed"
        self.objects = generate_shape(self.specs, shape, seed=1)
        generate_shape(self.changed, shape, seed=1, change_percent=1.0)
        self.base = {p: p.read_bytes() for p in self.specs.rglob("*.yaml")}
        self.edits = {
            self.specs / p.relative_to(self.changed): p.read_bytes()
            for p in self.changed.rglob("*.yaml")
            if p.read_bytes() != self.base.get(self.specs / p.relative_to(self.changed))
        }
        env = {k: v for k, v in hlb_env().items() if k not in ("DATABASE_URL", "HLB_DATABASE_URL")}
        env.pop("HLB_NO_CACHE", None)
        env["HLB_HOME"] = str(work / ".hlb")
        self.env = env
        self.cache = work / ".hlb" / "cache"

    def clear(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)

    def url(self) -> str:
        done = subprocess.run([*HLB, "db", "url"], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def empty_database(self, *, clear_cache: bool) -> None:
        """Delete every applied object and revision (the schema stays migrated), for another first apply."""
        import psycopg

        with psycopg.connect(self.url()) as conn:
            tables = conn.execute(
                "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'hlb_config' AND tablename <> 'alembic_version'"
            ).fetchone()
            assert tables is not None
            conn.execute(f"TRUNCATE {tables[0]}")
        if clear_cache:
            self.clear()

    def env_for(self, mode: str) -> dict[str, str]:
        return {**self.env, "HLB_NO_CACHE": "1"} if mode == "no cache" else self.env

    def run(self, args: list[str], mode: str, repeat: int | None = None) -> Time:
        """Best time of ``hlb ARGS`` in ``mode`` (warm: after one unmeasured run)."""
        count = self.repeat if repeat is None else repeat
        if mode == "warm":
            timed([*HLB, *args], self.env)
        return timed([*HLB, *args], self.env_for(mode), count)

    def write(self, files: dict[Path, bytes]) -> None:
        for path, content in files.items():
            path.write_bytes(content)

    def one_percent(self, mode: str) -> Time:
        """Best time of applying the 1% edit (then putting the base files back and applying them)."""
        best = Time(float("inf"), float("inf"))
        for _ in range(self.repeat):
            self.write({p: self.base[p] for p in self.edits})
            timed([*HLB, "apply", str(self.specs)], self.env)  # the base set applied, cache warm for it
            self.write(self.edits)
            best = min(best, timed([*HLB, "apply", str(self.specs)], self.env_for(mode)))
        self.write({p: self.base[p] for p in self.edits})
        timed([*HLB, "apply", str(self.specs)], self.env)
        return best


def bench_shape(shape: str, repeat: int, reference: bool) -> dict[str, float]:
    """Print the figures of one shape; return the headline ones (for the summary)."""
    work = Path(tempfile.mkdtemp(prefix=f"hlb-bench-{shape}-"))
    try:
        b = Bench(work, shape, repeat)
        specs = str(b.specs)
        timed([*HLB, "db", "upgrade"], b.env)  # start the embedded server and migrate: not measured
        rows: list[tuple[str, dict[str, Time]]] = []
        rows.append(("validate", {m: b.run(["validate", specs], m) for m in MODES}))
        rows.append(("plan (empty database)", {m: b.run(["plan", specs], m) for m in MODES}))
        b.clear()
        first = timed([*HLB, "apply", specs], b.env, b.repeat, lambda: b.empty_database(clear_cache=True))
        rows.append(("first apply (no cache yet)", {"no cache": first}))
        rows.append(("apply, 1% changed", {m: b.one_percent(m) for m in MODES}))
        rows.append(("no-op apply", {m: b.run(["apply", specs], m) for m in MODES}))
        print(f"{shape}: {b.objects:,} objects ({len(b.base)} files, {len(b.edits)} changed by the 1% edit)")
        print(f"  {'':28}{'no cache':>22}{'warm':>22}")
        for name, times in rows:
            cells = "".join(f"{times[m]!s:>22}" if m in times else f"{'':>22}" for m in MODES)
            print(f"  {name:28}{cells}")
        noop = rows[-1][1]["warm"]
        figures = {"first apply": first, "no-op apply": noop}
        if reference:
            ref = [*REFERENCE, specs, "--url", b.url()]
            slow_first = timed(ref, b.env, 1, lambda: b.empty_database(clear_cache=True))
            slow_noop = timed(ref, b.env)
            for name, slow, fast in (("first apply", slow_first, first), ("no-op apply", slow_noop, noop)):
                label = f"reference {name}"
                print(
                    f"  {label:28}{slow!s:>22}   ratio {slow / fast:.1f}x wall, "
                    f"{slow.cpu / fast.cpu:.1f}x cpu (to hlb apply)"
                )
            figures["ratio, first apply"] = slow_first / first
            figures["ratio, no-op apply"] = slow_noop / noop
        return figures
    finally:
        stop_embedded(work / ".hlb")
        shutil.rmtree(work, ignore_errors=True)


def stop_embedded(home: Path) -> None:
    """Stop the embedded server of ``home`` (hlb's own stop: a signal, so it works as root too)."""
    from hlb.store import embedded

    try:
        embedded.stop(home)
    except Exception as exc:  # a benchmark should still clean up its files
        print(f"could not stop the embedded Postgres in {home}: {exc}", file=sys.stderr)


def calibrate() -> float:
    """Best of five runs of a fixed loop: the same machine varies from day to day (and hour to hour),
    so figures from different runs compare only next to this one."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i * i
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes", default=",".join(SHAPES), help="comma-separated, of: " + ", ".join(SHAPES)
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    shapes = args.shapes.split(",")
    if not set(shapes) <= set(SHAPES):
        parser.error(f"--shapes: each of {', '.join(SHAPES)}")
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {sys.version.split()[0]}")
    print(f"machine speed: {calibrate():.3f} s for a fixed pure-Python loop (lower is faster)")
    timed([*HLB, "--help"], hlb_env())  # not measured: writes the bytecode of a fresh checkout
    help_time = timed([*HLB, "--help"], hlb_env(), 5)
    print(f"hlb --help                  {help_time}")
    for shape in shapes:
        bench_shape(shape, args.repeat, not args.no_reference)


def cpu_model() -> str:
    """The CPU's model name (Linux), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


if __name__ == "__main__":
    main()
