"""Shared by the benchmark scripts: the machine description and writing one section of BENCHMARKS.md."""

import os
import platform
import re
import sys
from pathlib import Path


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores visible, torch.get_num_threads()={torch.get_num_threads()}; "
        f"Python {platform.python_version()}, torch {torch.__version__}, {platform.system()} {platform.release()}"
    )


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
