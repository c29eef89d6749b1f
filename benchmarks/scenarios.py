"""Wall time of `sim run scenarios/<each>.toml` with default settings (target: under a minute each).

Runs each shipped scenario exactly as a user would (a fresh `sim run` process, all cores) and
prints its wall time, simulated customers and PASS/FAIL against the target. Exit code 1 when a
scenario misses it.

    .venv/bin/python benchmarks/scenarios.py [NAME ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0


def main(names: list[str]) -> int:
    names = names or sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    failed = 0
    print(f"{'scenario':<30} {'wall s':>8}  verdict (target < {TARGET_S:.0f} s)")
    for name in names:
        t0 = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from sim.cli import main; main()",
                "run",
                str(ROOT / "scenarios" / f"{name}.toml"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - t0
        ok = done.returncode == 0 and wall < TARGET_S
        failed += not ok
        tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
        print(f"{name:<30} {wall:8.1f}  {'PASS' if ok else 'FAIL'}   {tail}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
