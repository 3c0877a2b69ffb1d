"""Running a sweep's plan: each run in order, in this process or through `accelerate launch`, skipping finished runs,
resuming interrupted ones, and linking the finished runs of another sweep that ran the same command (`--reuse_from`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..training.experiment import main as train
from ..vocabulary import RESTORED, RESULTS, read_sweep
from .plan import PlannedRun


TRAINING_MODULE = "mtl_bioner.training"
SEED_FOLDER = re.compile(r"<sweep>/seed-\d+/")


def command_key(argv: Sequence[str], folder: str, name: str) -> tuple[tuple[str, ...], ...]:
    """A run's flags with their values, in a canonical order, with its sweep's folder written as "<sweep>/" and its
    seed's folder as "seed-*/": the seed itself is a flag, so the same command under another seed index (a sweep
    started at another --seed) is the same run."""
    root = folder[: -len(name)]  # a run's folder is <sweep folder>/<run name>
    groups: list[list[str]] = []
    for argument in argv:
        argument = SEED_FOLDER.sub("<sweep>/seed-*/", argument.replace(root, "<sweep>/"))
        if argument.startswith("--") or not groups:
            groups.append(argument.split("=", 1))
        else:
            groups[-1].append(argument)
    return tuple(sorted(tuple(group) for group in groups))


def recorded_key(recorded: Mapping) -> tuple[tuple[str, ...], ...]:
    """`command_key` of a run as its sweep's sweep.json records it."""
    return command_key(recorded["argv"], recorded["folder"], recorded["name"])


def finished_runs(sweep: str | os.PathLike, *, not_shared_with: str | os.PathLike | None = None) -> list[str]:
    """The runs of the sweep in `sweep` that have results, without those whose command the sweep in `not_shared_with`
    also planned: what one protocol adds to another (the paper's way shares STL and MTL-XC with equal compute), told
    by the command, not by whether the files are links, so copies and restored runs count alike."""
    shared = {recorded_key(run) for run in read_sweep(not_shared_with)[1]} if not_shared_with else set()
    _, runs = read_sweep(sweep)
    return [
        run["name"]
        for run in runs
        if (Path(sweep) / run["name"] / RESULTS).is_file() and recorded_key(run) not in shared
    ]


def reusable_runs(runs: Sequence[PlannedRun], other: str | os.PathLike, *, restored: bool = False) -> dict[str, Path]:
    """This sweep's runs that the sweep in `other` finished with the same command: run name -> its folder there.
    Runs restored from a published study have no model for the runs that start from them, so they are linked only
    with `restored` (a sweep that trains nothing, to tabulate)."""
    other = Path(other)
    _, recorded_runs = read_sweep(other)
    by_command = {command_key(run.argv, run.folder, run.name): run for run in runs}
    found = {}
    for recorded in recorded_runs:
        run = by_command.get(recorded_key(recorded))
        source = other / recorded["name"]
        if run is None or not (source / RESULTS).is_file() or ((source / RESTORED).is_file() and not restored):
            continue
        found[run.name] = source
    return found


def link_run(source: Path, target: Path) -> None:
    """Copy a finished run folder as hard links (a real copy across file systems): no second copy of checkpoints."""

    def link_or_copy(source_file: str, target_file: str) -> None:
        try:
            os.link(source_file, target_file)
        except OSError:
            shutil.copy2(source_file, target_file)

    shutil.copytree(source, target, copy_function=link_or_copy, dirs_exist_ok=True)


def launch_command(run: PlannedRun, launcher: str, accelerate_config: str | None = None) -> list[str]:
    """The command line of a run; in-process runs execute the same arguments through `training.experiment.main`."""
    if launcher == "accelerate":
        config = ["--config_file", accelerate_config] if accelerate_config else []
        return ["accelerate", "launch", *config, "-m", TRAINING_MODULE, *run.launch_argv()]
    return [sys.executable, "-m", TRAINING_MODULE, *run.launch_argv()]


def execute(
    runs: Sequence[PlannedRun],
    launcher: str,
    accelerate_config: str | None = None,
    reuse: Mapping[str, Path] | None = None,
    *,
    link_only: bool = False,
) -> None:
    """Run what is not done, in order, linking the runs `reuse` names instead (`reusable_runs`); a failing run stops
    the sweep (its checkpoints let the next attempt resume). With `link_only` only the links are made."""
    by_name = {run.name: run for run in runs}
    reuse = reuse or {}
    for run in runs:
        status = run.status()
        if status == "done":
            print(f"[skip] {run.name}: results.json present", flush=True)
            continue
        if status == "new" and run.name in reuse:
            link_run(reuse[run.name], Path(run.folder))
            print(f"[reuse] {run.name}: linked from {reuse[run.name]}", flush=True)
            continue
        if link_only:
            print(f"[unfinished] {run.name}: not linked, not trained (--link_only)", flush=True)
            continue
        for dependency in run.dependencies:
            if by_name[dependency].status() != "done":
                raise RuntimeError(f"{run.name} needs {dependency}, which has no results.json")
            folder = Path(by_name[dependency].folder)
            if (folder / RESTORED).is_file():
                raise RuntimeError(
                    f"{run.name} starts from {dependency}, whose results were restored from a published study "
                    f"without its model ({folder / RESTORED}); delete {folder} and re-run the sweep to train it again"
                )
        print(f"[{'resume' if status == 'resume' else 'run'}] {run.name}", flush=True)
        if launcher == "accelerate":
            completed = subprocess.run(launch_command(run, launcher, accelerate_config), check=False)
            if completed.returncode:
                raise RuntimeError(f"{run.name} exited with code {completed.returncode}; rerun the sweep to resume it")
        else:
            train(run.launch_argv())
        if not (Path(run.folder) / RESULTS).is_file():
            raise RuntimeError(f"{run.name} finished without writing {Path(run.folder) / RESULTS}")


__all__ = ["command_key", "execute", "launch_command", "link_run", "reusable_runs"]
