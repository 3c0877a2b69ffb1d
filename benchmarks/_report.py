"""Shared by the benchmark scripts: the machine description and writing one section of BENCHMARKS.md."""

import os
import platform
import re
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def machine() -> str:
    """The CPU model with its AMX / AVX512-BF16 / AVX512-VNNI flags, cores, threads and versions
    (`mtl_bioner.machine`), plus the kernel."""
    from mtl_bioner.machine import machine_line

    return f"{machine_line()}; {platform.system()} {platform.release()}"


def command() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])


def write_section(path: str, name: str, body: str) -> None:
    """Replace the text between `<!-- name -->` and `<!-- /name -->` in `path` (appending it if absent)."""
    file = Path(path)
    text = (
        file.read_text()
        if file.exists()
        else "# Benchmarks\n\nFigures measured on a shared 2-core machine are noisy: compare within one run.\n"
    )
    block = f"<!-- {name} -->\n{body.rstrip()}\n<!-- /{name} -->"
    pattern = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    file.write_text(text)


def publish(report: str, name: str, path: str | None) -> None:
    """Print a benchmark's markdown section and, given a path, replace that section of the file."""
    print(report)
    if path:
        write_section(path, name, report)
