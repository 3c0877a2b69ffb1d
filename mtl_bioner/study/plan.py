"""The plan of a sweep: which training runs, with which arguments, in which order (see `mtl_bioner.study.sweep`).

Per seed s (seed = --seed + s): one STL run per dataset, one MTL-XC run over all datasets, one MTL-LS run per slicing
rate starting from that seed's MTL-XC run and, with --controls, the controls for MTL-LS's extra training: MTL-XC
continued and (without --equal_compute) STL continued. With --equal_compute the budget (--updates U or --epochs E)
is split so that every method's model for a dataset has seen the same training: MTL-LS and MTL-XC continued start
from a shorter "MTL-XC start" run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..training.checkpoints import checkpoint_dirs
from ..vocabulary import MTL_XC, MTL_XC_CONTINUED, MTL_XC_START, RESULTS, STL, STL_CONTINUED, mtl_ls_label


@dataclass(frozen=True)
class PlannedRun:
    """One training run of the sweep (`python -m mtl_bioner.training` arguments).

    `method` is the key the run writes in its results.json; `label` the column it fills in the tables (they differ
    only for the equal-compute "MTL-XC start" run, which is written as MTL-XC). `updates` is the run's own
    `--max_steps`, `total_updates` those of its model including the MTL-XC run it starts from (equal compute only).
    """

    name: str
    folder: str
    mode: str
    method: str
    label: str
    seed_index: int
    seed: int
    datasets: tuple[str, ...]
    slicing_rate: float | None
    argv: tuple[str, ...]
    dependencies: tuple[str, ...] = ()
    updates: int | None = None
    total_updates: int | None = None

    @property
    def checkpoint_root(self) -> Path:
        """Where the run's checkpoint-<step> folders go: STL runs train each dataset in <output_dir>/<dataset>."""
        return Path(self.folder) / self.datasets[0] if self.mode == "stl" else Path(self.folder)

    def status(self) -> str:
        """'done' (results.json written last by the run), 'resume' (checkpoints only) or 'new'."""
        if (Path(self.folder) / RESULTS).is_file():
            return "done"
        return "resume" if checkpoint_dirs(self.checkpoint_root) else "new"

    def launch_argv(self) -> list[str]:
        """The run's arguments, resuming from its last checkpoint when a previous attempt left some."""
        return list(self.argv) + (["--resume_from_checkpoint", "last"] if self.status() == "resume" else [])


def parse_rates(text: str) -> list[float]:
    rates = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            rate = float(item)
        except ValueError:
            raise ValueError(f"--rates item {item!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"--rates item {item!r} is outside [0, 1]")
        rates.append(rate)
    labels = [f"{rate:.2f}" for rate in rates]
    if not rates or len(set(labels)) != len(labels):
        raise ValueError(f"--rates {text!r} must list distinct slicing rates (two decimals tell them apart)")
    return rates


def _budget_flags(options: argparse.Namespace) -> tuple[list[str], list[str], list[str]]:
    """The run flags of an equal-compute budget: (whole budget, the MTL-XC start's share, the rest), empty
    without --equal_compute (the passed-through flags then set every run's length)."""
    if not options.equal_compute:
        return [], [], []
    if options.updates is not None:
        start = round(options.updates * options.xc_fraction)
        return [["--max_steps", str(value)] for value in (options.updates, start, options.updates - start)]
    start = options.epochs * options.xc_fraction
    return [["--num_train_epochs", f"{value:g}"] for value in (options.epochs, start, options.epochs - start)]


def plan_sweep(options: argparse.Namespace, passthrough: Sequence[str]) -> list[PlannedRun]:
    """Every run of the sweep, seed by seed: STL per dataset, MTL-XC (and its equal-compute start), MTL-LS per rate,
    then the controls. Dependencies name the run an MTL-LS or continued run starts from."""
    root = Path(options.output_dir)
    datasets = tuple(options.datasets)
    corpora = ["--corpora", options.corpora] if options.corpora else []
    dataset_flags = (["--group", options.group] if options.group else ["--datasets", ",".join(datasets)]) + corpora
    mix = ["--mix_datasets"] if options.mix_datasets else []
    whole, start_share, rest = _budget_flags(options)
    total = options.updates if options.equal_compute else None
    runs: list[PlannedRun] = []

    def add(name, mode, method, label, seed_index, run_datasets, flags, budget, *, rate=None, after=(), seen=None):
        folder = root / name
        seed = options.seed + seed_index
        argv = ["--mode", mode, *flags, "--output_dir", str(folder), "--seed", str(seed), *budget, *passthrough]
        updates = int(budget[1]) if budget and budget[0] == "--max_steps" else None
        runs.append(
            PlannedRun(
                name=name,
                folder=str(folder),
                mode=mode,
                method=method,
                label=label,
                seed_index=seed_index,
                seed=seed,
                datasets=tuple(run_datasets),
                slicing_rate=rate,
                argv=tuple(argv),
                dependencies=tuple(after),
                updates=updates,
                total_updates=seen if seen is not None else updates,
            )
        )

    for index in range(options.seeds):
        prefix = f"seed-{index}"
        for dataset in datasets:
            add(
                f"{prefix}/stl/{dataset}",
                "stl",
                STL,
                STL,
                index,
                [dataset],
                ["--datasets", dataset, *corpora],
                whole,
            )
        add(f"{prefix}/mtl-xc", "mtl-xc", MTL_XC, MTL_XC, index, datasets, dataset_flags + mix, whole)
        start = f"{prefix}/mtl-xc"
        if options.equal_compute:
            start = f"{prefix}/mtl-xc-start"
            add(start, "mtl-xc", MTL_XC, MTL_XC_START, index, datasets, dataset_flags + mix, start_share)
        start_folder = str(root / start)
        for rate in options.rates:
            method = mtl_ls_label(rate)
            flags = dataset_flags + ["--slicing_rate", f"{rate:g}", "--mtl_xc_checkpoint", start_folder]
            add(
                f"{prefix}/mtl-ls-{rate:.2f}",
                "mtl-ls",
                method,
                method,
                index,
                datasets,
                flags,
                rest,
                rate=rate,
                after=[start],
                seen=total,
            )
        if options.controls:
            flags = dataset_flags + mix + ["--continue_from", start_folder]
            add(
                f"{prefix}/mtl-xc-continued",
                "mtl-xc",
                MTL_XC_CONTINUED,
                MTL_XC_CONTINUED,
                index,
                datasets,
                flags,
                rest,
                after=[start],
                seen=total,
            )
            if not options.equal_compute:
                for dataset in datasets:
                    stl = f"{prefix}/stl/{dataset}"
                    flags = ["--datasets", dataset, *corpora, "--continue_from", str(root / stl)]
                    add(
                        f"{prefix}/stl-continued/{dataset}",
                        "stl",
                        STL_CONTINUED,
                        STL_CONTINUED,
                        index,
                        [dataset],
                        flags,
                        rest,
                        after=[stl],
                    )
    return execution_order(runs)


def execution_order(runs: Sequence[PlannedRun]) -> list[PlannedRun]:
    """Runs in plan order, each moved after the runs it depends on (a stable topological sort)."""
    by_name = {run.name: run for run in runs}
    for run in runs:
        for dependency in run.dependencies:
            if dependency not in by_name:
                raise ValueError(f"run {run.name} depends on {dependency}, which is not planned")
    ordered: list[PlannedRun] = []
    placed: set[str] = set()
    pending = list(runs)
    while pending:
        ready = next((run for run in pending if set(run.dependencies) <= placed), None)
        if ready is None:
            raise ValueError(f"circular dependencies among {[run.name for run in pending]}")
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered


__all__ = ["PlannedRun", "execution_order", "parse_rates", "plan_sweep"]
