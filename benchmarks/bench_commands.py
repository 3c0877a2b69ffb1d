"""How long the README's two commands take a new user: `make test` and `make demo` from a fresh clone of the
checkout's HEAD, its virtual environment built from the package index included.

    python benchmarks/bench_commands.py --targets test demo --write BENCHMARKS.md

The clone lives in a temporary folder, so the corpora are passed as the Makefile would find them from the checkout
(`$CRICHTON_DATA_DIR`, else `../shared/data/crichton` next to it). Uncommitted changes are not measured: the
section names the commit. A target that fails stops the benchmark with its exit code and the tail of its output.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import command, machine, publish


CHECKOUT = Path(__file__).resolve().parents[1]


def corpora_dir() -> str | None:
    """The corpus folder the checkout's Makefile would use, as an absolute path the clone can reach."""
    if os.environ.get("CRICHTON_DATA_DIR"):
        return os.environ["CRICHTON_DATA_DIR"]
    default = CHECKOUT.parent / "shared" / "data" / "crichton"
    return str(default.resolve()) if default.is_dir() else None


def run_target(target: str, commit: str) -> float:
    """Wall-clock seconds of `make <target>` in a fresh clone of `commit`."""
    env = dict(os.environ)
    data = corpora_dir()
    if data:
        env["CRICHTON_DATA_DIR"] = data
    with tempfile.TemporaryDirectory(prefix="bench_commands_") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(CHECKOUT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", commit], check=True)
        log = Path(tmp) / "make.log"
        start = time.perf_counter()
        with log.open("w") as out:
            done = subprocess.run(["make", target], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
        if done.returncode:
            tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-40:])
            sys.exit(f"make {target} failed with exit code {done.returncode} after {seconds:.0f} s:\n{tail}")
    return seconds


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60):02d} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", default=["test", "demo"], choices=["test", "demo", "demo-xlnet"])
    parser.add_argument("--write", metavar="BENCHMARKS.md")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(CHECKOUT), "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    rows = [f"| `make {target}` | {minutes(run_target(target, commit))} |" for target in args.targets]
    report = "\n".join(
        [
            "## The README's two commands from a fresh clone",
            "",
            f"Commit `{commit}` cloned into an empty folder; each time includes building `.venv` from the package "
            "index. The tests run offline; the demo trains on the CPU here.",
            "",
            f"Machine: {machine()}.",
            "",
            "| command | wall clock |",
            "|---|---|",
            *rows,
            "",
            f"Command: `{command()}`.",
        ]
    )
    publish(report, "bench_commands", args.write)


if __name__ == "__main__":
    main()
