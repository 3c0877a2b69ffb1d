"""The machine a figure or a model came from: CPU model and the instruction sets that change its speed (AMX,
AVX512-BF16, AVX512-VNNI), cores, accelerator and library versions. Benchmarks, run configs and model cards name it,
because the same training runs about 1.8x slower on a CPU without AMX."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


# /proc/cpuinfo flags that decide which fast paths exist: AMX tiles (bf16 and int8 matrix units), AVX-512 with bf16
# dot products, AVX-512 VNNI (int8 dot products).
SPEED_FLAGS = {"amx": "amx_tile", "avx512_bf16": "avx512_bf16", "avx512_vnni": "avx512_vnni"}


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = None, set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:  # not Linux: the model as platform reports it, no flags
        pass
    return model or platform.processor() or platform.machine(), flags


def describe_machine() -> dict[str, Any]:
    """CPU model, speed flags, visible cores, the accelerator (if torch sees one) and the versions that matter."""
    model, flags = _cpuinfo()
    description: dict[str, Any] = {
        "cpu": model,
        **{name: flag in flags for name, flag in SPEED_FLAGS.items()},
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    try:
        import torch
    except ImportError:
        return description
    description["torch"] = torch.__version__
    description["threads"] = torch.get_num_threads()
    description["accelerator"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return description


def machine_line(description: dict[str, Any] | None = None) -> str:
    """One line for reports: 'AMD EPYC (no AMX, AVX512-BF16, AVX512-VNNI), 2 cores, 2 torch threads; torch 2.13.0'."""
    d = description or describe_machine()
    speed = [("" if d.get(name) else "no ") + name.upper().replace("_", "-") for name in SPEED_FLAGS]
    parts = [f"{d['cpu']} ({', '.join(speed)}), {d['cores']} cores"]
    if "threads" in d:
        parts.append(f"{d['threads']} torch threads")
    if d.get("accelerator"):
        parts.append(d["accelerator"])
    versions = f"Python {d['python']}" + (f", torch {d['torch']}" if "torch" in d else "")
    return ", ".join(parts) + f"; {versions}"


__all__ = ["SPEED_FLAGS", "describe_machine", "machine_line"]
