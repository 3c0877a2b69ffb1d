"""Reproduce the paper's Tables 1-2 with one command: plan, run (resumably) and tabulate STL, MTL-XC and MTL-LS.

    python -m mtl_bioner.study.sweep --group disease --rates 0.25,0.5,0.75,1.0 --seeds 3 --output_dir runs/disease \
        --model_name_or_path xlnet-base-cased --num_train_epochs 30
    python -m mtl_bioner.study.sweep --group disease --rates 0,0.5,1.0 --seeds 3 --output_dir runs/disease-equal \
        --equal_compute --updates 20000 --controls --launcher accelerate
    python -m mtl_bioner.study.sweep --corpora corpora.yaml --group my-group --seeds 3 --output_dir runs/my-group \
        --model_name_or_path xlnet-base-cased --num_train_epochs 30

Your own corpora. `--corpora FILE` (a corpora file, see `data_scripts/corpora.py`) lets --group name a group of that
file and --datasets name its corpora next to paper rows; every run gets `--corpora FILE` and the tables list the
corpora after the paper rows (see `mtl_bioner.study.tables`). Without it --group and --datasets name the paper's groups
and rows only. The path is recorded as given, like every argument: the file under another path is another sweep
(refused in the same folder), while edits to the file at the same path go unnoticed.

Flags the sweep does not know are passed to every training run (`python -m mtl_bioner.training`, the command of
`run_ner_mtl.py`). Per seed s (seed = --seed + s) it plans one
STL run per dataset, one MTL-XC run over all datasets, one MTL-LS run per slicing rate starting from that seed's
MTL-XC run and, with --controls, "MTL-XC continued": the MTL-XC model trained for as many more updates as MTL-LS.

Compute. Without --equal_compute every run trains for the passed-through epochs or steps, as the paper did, and
MTL-LS (and the control) continue on top of a finished MTL-XC run, so they have seen more updates than STL or MTL-XC.
With --equal_compute --updates U, each method's *model for a dataset* has seen exactly U optimizer updates:
- STL: U updates per dataset (one run each);
- MTL-XC: U updates over all datasets together (its model for a dataset has seen U updates, most of them on batches
  of other datasets: that is the method);
- MTL-LS and MTL-XC continued: U_xc = round(U * --xc_fraction) updates of MTL-XC (a separate "MTL-XC start" run, not
  the reported U-update MTL-XC run) plus U - U_xc of their own.
Runs get `--max_steps`, so epochs are not used. The counts the runs report (`total_steps`) are checked in the tables.

Sharing runs. `--reuse_from OTHER` hard-links the finished runs of the sweep in OTHER whose command equals one of
this sweep's (the same flags and values in any order, up to the sweep folder and the seed's folder) instead of
training them again: a paper-style sweep (`--max_steps U`, no --equal_compute) shares its STL and MTL-XC runs with the
equal-compute one. With --link_only nothing is trained: a sweep of some seeds of another (`--seed 43 --seeds 1`, the
other sweep's seed 43 whatever its index there) links what that one finished, restored runs too, and tabulates it.

Resuming. A run whose folder holds results.json is done and skipped; one with checkpoints but no results.json is
rerun with `--resume_from_checkpoint last`; re-running the same command after a crash continues the sweep. The
arguments are recorded in DIR/sweep.json and a DIR planned with other arguments is refused, except for --seeds: a seed's
runs do not depend on how many seeds there are, so a sweep grows by re-running it with more seeds, and --seeds below
the recorded count runs only the first seeds (the plan and the tables keep the others, their runs unfinished). Going
seed by seed (--seeds 1, then 2, ...) puts finished seeds on the table early.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from data_scripts.corpora import resolve_datasets
from data_scripts.registry import GROUPS

from ..vocabulary import SWEEP_FILE, read_sweep, write_sweep
from .launch import execute, launch_command, reusable_runs
from .plan import PlannedRun, parse_rates, plan_sweep
from .tables import write_tables


# Flags the sweep sets for each run itself; passing them through would contradict the plan.
OWNED_FLAGS = (
    "--mode",
    "--group",
    "--datasets",
    "--slicing_rate",
    "--mtl_xc_checkpoint",
    "--continue_from",
    "--output_dir",
    "--seed",
    "--resume_from_checkpoint",
    "--mix_datasets",
    "--results_dir",
)
# Restarts would add updates beyond the budget.
EQUAL_COMPUTE_FLAGS = ("--max_steps", "--num_train_epochs", "--restarts", "--restart_epochs")
# Arguments that change how runs are launched or printed, not what they compute: not compared on resume.
LAUNCH_ONLY = ("output_dir", "launcher", "accelerate_config", "dry_run", "reuse_from", "link_only")


class SweepMismatchError(ValueError):
    """The output folder holds a sweep planned with other arguments."""


def flag_name(argument: str) -> str:
    return argument.split("=", 1)[0]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mtl_bioner.study.sweep",
        description="Plan, run and tabulate STL / MTL-XC / MTL-LS over seeds; unknown flags go to every run.",
        allow_abbrev=False,
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--group", help=f"Every dataset of one entity group ({', '.join(GROUPS)}) or of a group of --corpora's file."
    )
    which.add_argument(
        "--datasets", help="Comma-separated paper rows (e.g. BC5CDR-disease,...) and corpora of --corpora's file."
    )
    parser.add_argument(
        "--corpora",
        metavar="FILE",
        help="YAML or JSON corpora file (data_scripts/corpora.py) whose groups and corpora --group and --datasets "
        "may name; passed to every run.",
    )
    parser.add_argument("--rates", default="0.25,0.5,0.75,1.0", help="MTL-LS slicing rates (0 shares embeddings).")
    parser.add_argument("--seeds", type=int, default=1, help="Number of seeds; seed s uses --seed + s.")
    parser.add_argument("--seed", type=int, default=42, help="Base seed.")
    parser.add_argument("--output_dir", required=True, help="Sweep folder: one sub-folder per run, then the tables.")
    parser.add_argument(
        "--equal_compute", action="store_true", help="The same budget per dataset's model for every method."
    )
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--updates", type=int, help="--equal_compute budget: U optimizer updates.")
    budget.add_argument(
        "--epochs", type=float, help="--equal_compute budget: E epochs (MTL runs: E passes over every dataset)."
    )
    parser.add_argument(
        "--xc_fraction", type=float, default=0.5, help="Equal compute: share of U that MTL-LS spends in MTL-XC."
    )
    parser.add_argument(
        "--controls",
        action="store_true",
        help="Also run MTL-XC continued for MTL-LS's extra training and, without --equal_compute, STL continued.",
    )
    parser.add_argument("--mix_datasets", action="store_true", help="MTL-XC batches mix datasets (passed to runs).")
    parser.add_argument("--launcher", choices=("inprocess", "accelerate"), default="inprocess")
    parser.add_argument("--accelerate_config", help="accelerate launch --config_file for --launcher accelerate.")
    parser.add_argument("--dry_run", action="store_true", help="Print the plan and exact commands, run nothing.")
    parser.add_argument(
        "--reuse_from",
        metavar="SWEEP_DIR",
        help="Link the finished runs of this other sweep whose command equals one of this sweep's (up to the folder).",
    )
    parser.add_argument(
        "--link_only",
        action="store_true",
        help="With --reuse_from: link its finished runs (restored ones too), train nothing, write the tables.",
    )
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """The sweep's own options and the flags passed through to every run (checked against the plan's own)."""
    parser = build_parser()
    options, passthrough = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    owned = OWNED_FLAGS + (EQUAL_COMPUTE_FLAGS if options.equal_compute else ())
    for argument in passthrough:
        if flag_name(argument) in owned:
            reason = " (--equal_compute sets it from --updates)" if flag_name(argument) in EQUAL_COMPUTE_FLAGS else ""
            parser.error(f"{flag_name(argument)} is set by the sweep for each run{reason}")
    if options.equal_compute:
        if options.updates is None and options.epochs is None:
            parser.error("--equal_compute needs a budget: --updates U or --epochs E")
        if options.updates is not None:
            if options.updates < 2:
                parser.error("--updates must be at least 2 optimizer updates")
            xc_updates = round(options.updates * options.xc_fraction)
            if not 1 <= xc_updates < options.updates:
                parser.error(
                    f"--xc_fraction {options.xc_fraction} leaves MTL-LS {xc_updates} of {options.updates} updates"
                )
        elif options.epochs <= 0 or not 0 < options.xc_fraction < 1:
            parser.error(
                f"--epochs must be positive and --xc_fraction in (0, 1), got {options.epochs}, {options.xc_fraction}"
            )
    elif options.updates is not None or options.epochs is not None:
        parser.error(
            "--updates and --epochs only apply with --equal_compute (otherwise pass --max_steps or "
            "--num_train_epochs to every run)"
        )
    if options.seeds < 1:
        parser.error("--seeds must be at least 1")
    if options.accelerate_config and options.launcher != "accelerate":
        parser.error("--accelerate_config needs --launcher accelerate")
    if options.link_only and not options.reuse_from:
        parser.error("--link_only needs --reuse_from SWEEP_DIR: the sweep whose runs to link")
    if options.reuse_from and not (Path(options.reuse_from) / SWEEP_FILE).is_file():
        parser.error(f"--reuse_from {options.reuse_from}: no {SWEEP_FILE} there, expected a sweep folder")
    try:
        options.rates = parse_rates(options.rates)
        options.datasets = resolve_datasets(options.group, options.datasets, options.corpora)
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))
    return options, passthrough


def sweep_arguments(options: argparse.Namespace, passthrough: Sequence[str]) -> dict:
    """What determines the runs and their results: recorded in sweep.json and compared when a sweep continues."""
    values = {key: value for key, value in vars(options).items() if key not in LAUNCH_ONLY}
    if not options.equal_compute:
        values["xc_fraction"] = None
    if values.get("epochs") is None:
        values.pop("epochs", None)  # sweeps recorded before --epochs existed compare equal
    return {**values, "passthrough": list(passthrough)}


def describe_plan(
    runs: Sequence[PlannedRun],
    launcher: str,
    accelerate_config: str | None = None,
    reuse: Mapping[str, Path] | None = None,
    link_only: bool = False,
) -> str:
    reuse = reuse or {}
    statuses = ["reuse" if run.status() == "new" and run.name in reuse else run.status() for run in runs]
    if link_only:
        statuses = ["unfinished" if status in ("new", "resume") else status for status in statuses]
    counts = {status: statuses.count(status) for status in ("done", "reuse", "resume", "new", "unfinished")}
    to_train = f"{counts['resume']} to resume, {counts['new']} to run"
    lines = [
        f"{len(runs)} runs: {counts['done']} done (skipped), "
        + (f"{counts['reuse']} to link from --reuse_from, " if reuse else "")
        + (f"{counts['unfinished']} left unfinished (--link_only)" if link_only else to_train)
        + (
            " (in-process: the same arguments go to run_ner_mtl.main)"
            if launcher == "inprocess" and not link_only
            else ""
        )
    ]
    for run, status in zip(runs, statuses):
        after = f" after {', '.join(run.dependencies)}" if run.dependencies else ""
        lines.append(f"[{status}] {run.name} ({run.label}){after}")
        if status == "reuse":
            lines.append(f"    linked from {reuse[run.name]}")
        else:
            lines.append("    " + shlex.join(launch_command(run, launcher, accelerate_config)))
    return "\n".join(lines)


def recorded_seeds(directory: Path) -> int:
    """How many seeds DIR/sweep.json plans (0 for a new sweep)."""
    return read_sweep(directory)[0]["seeds"] if (directory / SWEEP_FILE).is_file() else 0


def record_sweep(directory: Path, arguments: dict, runs: Sequence[PlannedRun]) -> None:
    """Write DIR/sweep.json, or check that the one there was planned with the same arguments (up to the seed count,
    which may grow)."""
    path = directory / SWEEP_FILE
    if path.is_file():
        recorded = read_sweep(directory)[0]
        changed = sorted(
            key for key in set(recorded) | set(arguments) if key != "seeds" and recorded.get(key) != arguments.get(key)
        )
        if changed:
            details = "; ".join(f"{key}: was {recorded.get(key)!r}, now {arguments.get(key)!r}" for key in changed)
            raise SweepMismatchError(
                f"{path} was planned with other arguments ({details}). Re-run with the recorded arguments to "
                "continue that sweep, or choose another --output_dir."
            )
    write_sweep(directory, arguments, [asdict(run) for run in runs])


def main(argv: Sequence[str] | None = None) -> int:
    options, passthrough = parse_arguments(argv)
    directory = Path(options.output_dir)
    requested = options.seeds
    options.seeds = max(requested, recorded_seeds(directory))
    runs = plan_sweep(options, passthrough)
    reuse = reusable_runs(runs, options.reuse_from, restored=options.link_only) if options.reuse_from else {}
    selected = [run for run in runs if run.seed_index < requested]
    if options.dry_run:
        print(describe_plan(selected, options.launcher, options.accelerate_config, reuse, options.link_only))
        return 0
    record_sweep(directory, sweep_arguments(options, passthrough), runs)
    execute(selected, options.launcher, options.accelerate_config, reuse, link_only=options.link_only)
    write_tables(directory)
    print(f"tables written to {directory}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
