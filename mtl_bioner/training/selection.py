"""Which weights a run reports: every dataset's own best validation checkpoint, early stopping on the mean validation
F1, and the learning curves those evaluations draw.

In multi-task training the datasets peak at different steps, so one "best checkpoint" of the container would report
some datasets past or before their best; `KeepBestPerDataset` keeps each dataset's best model on its own.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from transformers import EarlyStoppingCallback, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ExportableState
from transformers.trainer_utils import IntervalStrategy, SaveStrategy

from ..vocabulary import CURVES_FILE, CURVES_PLOT


BEST_DIR = "best"


@dataclass(frozen=True)
class Selected:
    """Where a dataset's reported model was taken: the optimizer step, the epoch and its validation F1 there."""

    step: int
    epoch: float
    validation_f1: float


class KeepBestPerDataset(TrainerCallback, ExportableState):
    """At each evaluation, saves every dataset's model whose validation F1 beats its best so far (strictly, so the
    first of equal scores stays) to `<output_dir>/best/<dataset>/` as a standalone checkpoint.

    Its record of the best steps travels in each checkpoint's trainer state, so a resumed run knows them; set
    `restore_callback_states_from_checkpoint` (`evaluation_arguments` does).
    """

    def __init__(self, output_dir: str, tasks: Sequence[str], best: dict | None = None):
        self.output_dir = str(output_dir)
        self.tasks = list(tasks)
        self.best: dict[str, dict] = dict(best or {})

    def state(self) -> dict:
        return {"args": {"output_dir": self.output_dir, "tasks": self.tasks}, "attributes": {"best": self.best}}

    def folder(self, task: str) -> Path:
        return Path(self.output_dir) / BEST_DIR / task

    def selected(self) -> dict[str, Selected]:
        return {task: Selected(**values) for task, values in self.best.items()}

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        for task in self.tasks:
            f1 = (metrics or {}).get(f"eval_{task}_f1")
            if f1 is None or (task in self.best and f1 <= self.best[task]["validation_f1"]):
                continue
            self.best[task] = asdict(Selected(state.global_step, float(state.epoch or 0.0), float(f1)))
            if state.is_world_process_zero:
                container = getattr(model, "module", model)
                container.model_for(task).save_pretrained(self.folder(task))


def evaluation_arguments(
    args: TrainingArguments,
    tasks: Sequence[str],
    *,
    best_on_validation: bool,
    early_stopping_patience: int | None,
) -> list[TrainerCallback]:
    """Make `args` evaluate on validation at each save (unless it already evaluates on its own schedule) and return
    the callbacks that act on those evaluations. Early stopping follows `EarlyStoppingCallback`: the mean validation
    F1 (`eval_f1`) must rise for the counter to reset."""
    if not best_on_validation and early_stopping_patience is None:
        return []
    if args.eval_strategy == IntervalStrategy.NO:
        if args.save_strategy not in (SaveStrategy.STEPS, SaveStrategy.EPOCH):
            raise ValueError(
                f"--best_on_validation and --early_stopping_patience evaluate at each save, which needs "
                f"--save_strategy steps or epoch, not {args.save_strategy.value}"
            )
        args.eval_strategy = IntervalStrategy(args.save_strategy.value)
        args.eval_steps = args.save_steps
    args.restore_callback_states_from_checkpoint = True
    callbacks: list[TrainerCallback] = []
    if best_on_validation:
        callbacks.append(KeepBestPerDataset(args.output_dir, tasks))
    if early_stopping_patience is not None:
        args.metric_for_best_model, args.greater_is_better = "f1", True
        callbacks.append(EarlyStoppingCallback(early_stopping_patience))
    return callbacks


def learning_curves(log_history: Sequence[dict], tasks: Sequence[str]) -> dict[str, list[dict]]:
    """Per dataset, its validation F1 at each evaluation of a trainer's `log_history`: {step, epoch, f1}."""
    curves: dict[str, list[dict]] = {}
    for entry in log_history:
        for task in tasks:
            if f"eval_{task}_f1" in entry:
                point = {"step": entry["step"], "epoch": entry.get("epoch"), "f1": entry[f"eval_{task}_f1"]}
                curves.setdefault(task, []).append(point)
    return curves


def plateau_epoch(curves: dict[str, list[dict]], at_least: int = 1) -> int:
    """The epochs after which validation F1 stops improving on every dataset: the latest epoch (rounded up) at which
    a dataset reached its best score, and at least `at_least`."""
    if not curves:
        raise ValueError("no learning curves: the run never evaluated on validation")
    best_epochs = [max(points, key=lambda point: point["f1"])["epoch"] for points in curves.values()]
    return max(at_least, *(math.ceil(epoch - 1e-9) for epoch in best_epochs))


def write_learning_curves(curves: dict[str, list[dict]], output_dir: str | os.PathLike) -> None:
    """learning_curves.json and learning_curves.png (validation F1 against epoch, one line per dataset)."""
    if not curves:
        return
    from matplotlib.figure import Figure

    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CURVES_FILE).write_text(json.dumps(curves, indent=2) + "\n")
    columns = min(3, len(curves))
    rows = math.ceil(len(curves) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.2 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, (task, points) in zip(axes, curves.items()):
        epochs, scores = [point["epoch"] for point in points], [100 * point["f1"] for point in points]
        axis.plot(epochs, scores, marker="o", color="C0")
        best = max(range(len(scores)), key=scores.__getitem__)
        axis.plot([epochs[best]], [scores[best]], marker="*", markersize=12, color="C3", linestyle="none")
        axis.set_title(task)
        axis.set_xlabel("epoch")
        axis.set_ylabel("validation F1 (%)")
    for axis in axes[len(curves) :]:
        axis.set_visible(False)
    figure.savefig(directory / CURVES_PLOT, dpi=100)


__all__ = [
    "KeepBestPerDataset",
    "Selected",
    "evaluation_arguments",
    "learning_curves",
    "plateau_epoch",
    "write_learning_curves",
]
