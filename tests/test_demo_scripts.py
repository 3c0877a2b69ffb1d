"""The user's path through `make demo`: nothing forces the CPU or offline mode (a GPU and the Hub are used when
there), and the steps are the ones the README describes. The launcher is replaced by a stub that records what it got."""

import os
import shlex
import subprocess

import pytest
from utils import ROOT


STUB = """#!/usr/bin/env bash
{{ printf '%s\\n' "$*"; env | grep -E '^(HF_HUB_OFFLINE|HF_DATASETS_OFFLINE|CUDA_VISIBLE_DEVICES)=' || true; }} >> {log}
mkdir -p "$OUT" && echo "| a results table |" > "$OUT/results.md"
"""


@pytest.fixture
def launcher(tmp_path):
    log = tmp_path / "launches.log"
    stub = tmp_path / "accelerate"
    stub.write_text(STUB.format(log=shlex.quote(str(log))))
    stub.chmod(0o755)
    return stub, log


def clean_environment(tmp_path, stub):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "MAKE"))}
    return {**env, "ACCELERATE": str(stub), "OUT": str(tmp_path / "out"), "MODEL": "org/some-encoder"}


@pytest.mark.parametrize(
    "command", [["make", "--no-print-directory", "demo", "STAMP=Makefile"], ["bash", "scripts/demo.sh"]]
)
def test_the_demo_forces_neither_cpu_nor_offline_mode(tmp_path, launcher, command):
    stub, log = launcher
    completed = subprocess.run(
        command, cwd=ROOT, env=clean_environment(tmp_path, stub), capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    launches = log.read_text().splitlines()
    assert len(launches) == 3 and all("run_ner_mtl.py" in line for line in launches)
    assert [line.split("--mode ")[1].split()[0] for line in launches] == ["stl", "mtl-xc", "mtl-ls"]
    for line in launches:
        assert "--cpu" not in line.split() and "--use_cpu" not in line.split()
        assert "--model_name_or_path org/some-encoder" in line  # a Hub id goes to the run as it is
        assert "--base_model_id" not in line
    assert not [line for line in launches if line.startswith(("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))]
    assert "| a results table |" in completed.stdout


def test_the_test_target_alone_runs_offline():
    makefile = (ROOT / "Makefile").read_text()
    offline_lines = [line for line in makefile.splitlines() if "OFFLINE" in line and not line.startswith("#")]
    assert all(line.startswith(("OFFLINE :=", "\t$(OFFLINE) $(PY) -m pytest")) for line in offline_lines)
