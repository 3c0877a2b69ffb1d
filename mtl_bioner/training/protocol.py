"""The paper's evaluation protocol around one training run: train (or resume), score the last N checkpoints on test
and validation, the n + k x m restarts, and the per-dataset exports with their test predictions."""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from transformers import PreTrainedTokenizerBase, TrainingArguments

from ..tagging.remote_code import add_pipeline_code
from ..vocabulary import predictions_path, write_predictions
from .checkpoints import checkpoint_dirs, load_container_weights, load_model_weights
from .multitask import MultiTaskModel
from .selection import KeepBestPerDataset, Selected
from .trainer import MultiTaskTrainer


SCORED_SPLITS = ("test", "validation")


@dataclass
class Protocol:
    """`last_checkpoints`: how many of the last checkpoints are scored (mean ± sd) on each of `splits`; `restarts`
    continuations of the final model, `restart_epochs` each, whose checkpoints are pooled with the first run's (the
    paper's n + k x m). With `best_on_validation`, each dataset is scored at its own best validation checkpoint
    instead (kept by `selection.KeepBestPerDataset`)."""

    last_checkpoints: int = 5
    restarts: int = 0
    restart_epochs: float = 0.0
    splits: tuple[str, ...] = SCORED_SPLITS
    best_on_validation: bool = False


@dataclass
class RunScores:
    """Per split, per dataset: one score dict per scored checkpoint; the optimizer updates the run made; per dataset
    the test predictions of the model it exports when scoring made them; and, with `best_on_validation`, where each
    dataset's model was selected and the folder it was kept in."""

    scores: dict[str, dict[str, list[dict]]]
    train_steps: int
    test_predictions: dict[str, list[list[str]]] = field(default_factory=dict)
    selected: dict[str, Selected] = field(default_factory=dict)
    model_folders: dict[str, Path] = field(default_factory=dict)


def train_and_score(
    make_trainer: Callable[[MultiTaskModel, TrainingArguments], MultiTaskTrainer],
    model: MultiTaskModel,
    args: TrainingArguments,
    protocol: Protocol,
) -> tuple[MultiTaskTrainer, RunScores]:
    """Train (resuming from the last checkpoint when `args.resume_from_checkpoint` says so and there is one), score the last
    checkpoints or each dataset's best one, then run and score each restart. The model ends with the first run's
    final weights."""
    trainer = make_trainer(model, args)
    resume = args.resume_from_checkpoint
    if resume in ("True", "true", "last"):  # the last checkpoint if there is one (an STL run's later datasets: none)
        resume = True if checkpoint_dirs(args.output_dir) else None
    trainer.train(resume_from_checkpoint=resume)
    trainer.save_state()  # trainer_state.json with train_runtime: checkpoints are saved before it is logged
    steps = trainer.state.global_step
    final_state = copy.deepcopy(model.state_dict())
    if protocol.best_on_validation:
        run = score_best(trainer, protocol.splits)
        model.load_state_dict(final_state)
        return trainer, RunScores(run.scores, steps, run.test_predictions, run.selected, run.model_folders)
    scores, last_predictions = score_checkpoints(trainer, args.output_dir, protocol.last_checkpoints, protocol.splits)
    last_scored = scored_checkpoints(args.output_dir, protocol.last_checkpoints)[-1]
    final_scored = last_scored is None or last_scored.name == f"checkpoint-{steps}"
    final_predictions = last_predictions if final_scored else {}
    for restart in range(1, protocol.restarts + 1):
        restart_args = copy.deepcopy(args)
        restart_args.output_dir = os.path.join(args.output_dir, f"restart-{restart}")
        restart_args.num_train_epochs = protocol.restart_epochs
        restart_args.seed = args.seed + restart
        restart_args.resume_from_checkpoint = None
        model.load_state_dict(final_state)
        restart_trainer = make_trainer(model, restart_args)
        restart_trainer.train()
        restart_trainer.save_state()
        steps += restart_trainer.state.global_step
        restart_scores, _ = score_checkpoints(
            restart_trainer, restart_args.output_dir, protocol.last_checkpoints, protocol.splits
        )
        for split, per_task in restart_scores.items():
            for name, values in per_task.items():
                scores[split][name].extend(values)
    model.load_state_dict(final_state)
    return trainer, RunScores(scores, steps, final_predictions)


def scored_checkpoints(output_dir: str | os.PathLike, last: int) -> list[Path | None]:
    """The checkpoints the protocol scores: the last `last` ones, or the current weights (None) when none was saved."""
    return checkpoint_dirs(output_dir)[-last:] or [None]


def _scored_splits(trainer: MultiTaskTrainer, splits: tuple[str, ...]) -> list[str]:
    return [split for split in splits if all(split in task.windows for task in trainer.tasks.values())]


def _score(trainer: MultiTaskTrainer, names: list[str], split: str) -> tuple[dict[str, dict], dict]:
    """Scores and word predictions of `names` on `split`: `predict`, so that no callback takes them for a
    validation round of training."""
    output = trainer.predict(names, split=split, metric_key_prefix=split)
    scores = {}
    for name in names:
        prefix = f"{split}_{name}_"
        scores[name] = {key[len(prefix) :]: value for key, value in output.metrics.items() if key.startswith(prefix)}
    return scores, output.predictions


def score_checkpoints(
    trainer: MultiTaskTrainer, output_dir: str, last: int, splits: tuple[str, ...] = SCORED_SPLITS
) -> tuple[dict[str, dict[str, list[dict]]], dict[str, list[list[str]]]]:
    """Scores of each of the last `last` checkpoints (or of the current weights when none was saved) on each of
    `splits` the tasks have: test as the paper reports, validation to choose e.g. a slicing rate. Also returns the
    last scored checkpoint's test predictions."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    splits = _scored_splits(trainer, splits)
    scores: dict[str, dict[str, list[dict]]] = {split: {name: [] for name in trainer.tasks} for split in splits}
    predictions: dict[str, list[list[str]]] = {}
    for folder in scored_checkpoints(output_dir, last):
        if folder is not None:
            load_container_weights(model, folder)
        for split in splits:
            split_scores, split_predictions = _score(trainer, list(trainer.tasks), split)
            for name, values in split_scores.items():
                scores[split][name].append(values)
            if split == "test":
                predictions = split_predictions
    return scores, predictions


def score_best(trainer: MultiTaskTrainer, splits: tuple[str, ...] = SCORED_SPLITS) -> RunScores:
    """Each dataset scored with its own best validation weights, loaded into its model of the container one dataset
    after another (in MTL-LS they overwrite the shared layers, so the caller restores the final weights)."""
    keeper = next((cb for cb in trainer.callback_handler.callbacks if isinstance(cb, KeepBestPerDataset)), None)
    if keeper is None:
        raise ValueError("best_on_validation needs the trainer's KeepBestPerDataset callback (evaluation_arguments)")
    selected = keeper.selected()
    missing = [name for name in trainer.tasks if name not in selected]
    if missing:
        raise ValueError(
            f"{missing}: never evaluated on validation during training, so no best checkpoint was kept; evaluate at "
            "least once (--save_steps below the run's steps, or --save_strategy epoch)"
        )
    trainer.accelerator.wait_for_everyone()  # the main process wrote the kept models
    model = trainer.accelerator.unwrap_model(trainer.model)
    splits = _scored_splits(trainer, splits)
    scores: dict[str, dict[str, list[dict]]] = {split: {} for split in splits}
    predictions: dict[str, list[list[str]]] = {}
    folders = {name: keeper.folder(name) for name in trainer.tasks}
    for name in trainer.tasks:
        load_model_weights(model.model_for(name), folders[name])
        for split in splits:
            split_scores, split_predictions = _score(trainer, [name], split)
            scores[split][name] = [split_scores[name]]
            if split == "test":
                predictions[name] = split_predictions[name]
    return RunScores(scores, trainer.state.global_step, predictions, selected, folders)


def export_run(
    trainer: MultiTaskTrainer,
    tokenizer: PreTrainedTokenizerBase,
    output_dir: str | os.PathLike,
    should_save: bool,
    run: RunScores,
) -> None:
    """Per dataset: a standalone checkpoint (shared layers included, pipeline code added) and its test predictions.

    The checkpoint is a copy of the model kept for the dataset (`run.model_folders`) or else its final
    weights in the container; the predictions are those scoring made (`run.test_predictions`) or else predicted now.
    Every process predicts (batches are dealt across them); the main one writes."""
    container = trainer.accelerator.unwrap_model(trainer.model)
    for name in trainer.tasks:
        predicted = run.test_predictions.get(name)
        if predicted is None:
            predicted = trainer.predict_words(name, "test")
        if not should_save:
            continue
        export_dir = Path(output_dir) / "export" / name
        if name in run.model_folders:
            shutil.copytree(run.model_folders[name], export_dir, dirs_exist_ok=True)
        else:
            container.model_for(name).save_pretrained(export_dir)
        tokenizer.save_pretrained(export_dir)
        add_pipeline_code(export_dir)
        write_predictions(
            predictions_path(output_dir, name),
            trainer.tasks[name].words["test"]["tokens"],
            trainer.gold_words(name, "test"),
            predicted,
        )


__all__ = [
    "Protocol",
    "RunScores",
    "export_run",
    "score_best",
    "score_checkpoints",
    "train_and_score",
]
