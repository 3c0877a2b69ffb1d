"""The paper's evaluation protocol around one training run: train (or resume), score the last N checkpoints on test
and validation, the n + k x m restarts, and the per-dataset exports with their test predictions."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from transformers import PreTrainedTokenizerBase, TrainingArguments

from .checkpoints import checkpoint_dirs, load_container_weights
from .multitask import MultiTaskModel
from .pipeline import add_pipeline_code
from .predictions import write_predictions
from .trainer import MultiTaskTrainer


SCORED_SPLITS = ("test", "validation")
RUN_CONFIG = "run_config.json"


@dataclass
class Protocol:
    """`last_checkpoints`: how many of the last checkpoints are scored (mean ± sd) on each of `splits`; `restarts`
    continuations of the final model, `restart_epochs` each, whose checkpoints are pooled with the first run's (the
    paper's n + k x m)."""

    last_checkpoints: int = 5
    restarts: int = 0
    restart_epochs: float = 0.0
    splits: tuple[str, ...] = SCORED_SPLITS


@dataclass
class RunScores:
    """Per split, per dataset: one score dict per scored checkpoint; the optimizer updates the run made; and, per
    dataset, the final model's test predictions when scoring made them (the last scored checkpoint is the final one)."""

    scores: dict[str, dict[str, list[dict]]]
    train_steps: int
    final_test_predictions: dict[str, list[list[str]]] = field(default_factory=dict)


def train_and_score(
    make_trainer: Callable[[MultiTaskModel, TrainingArguments], MultiTaskTrainer],
    model: MultiTaskModel,
    args: TrainingArguments,
    protocol: Protocol,
) -> tuple[MultiTaskTrainer, RunScores]:
    """Train (resuming from the last checkpoint when `args.resume_from_checkpoint` says so), score the last
    checkpoints, then run and score each restart. The model ends with the first run's final weights."""
    trainer = make_trainer(model, args)
    resume = args.resume_from_checkpoint
    trainer.train(resume_from_checkpoint=True if resume in ("True", "true", "last") else resume)
    trainer.save_state()  # trainer_state.json with train_runtime: checkpoints are saved before it is logged
    steps = trainer.state.global_step
    final_state = copy.deepcopy(model.state_dict())
    scores = score_checkpoints(trainer, args.output_dir, protocol.last_checkpoints, protocol.splits)
    last_scored = scored_checkpoints(args.output_dir, protocol.last_checkpoints)[-1]
    final_scored = last_scored is None or last_scored.name == f"checkpoint-{steps}"
    final_predictions = dict(trainer.evaluated_predictions.get("test", {})) if final_scored else {}
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
        restart_scores = score_checkpoints(
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


def score_checkpoints(
    trainer: MultiTaskTrainer, output_dir: str, last: int, splits: tuple[str, ...] = SCORED_SPLITS
) -> dict[str, dict[str, list[dict]]]:
    """Scores of each of the last `last` checkpoints (or of the current weights when none was saved) on each of
    `splits` the tasks have: test as the paper reports, validation to choose e.g. a slicing rate."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    folders = scored_checkpoints(output_dir, last)
    splits = [split for split in splits if all(split in task.windows for task in trainer.tasks.values())]
    scores: dict[str, dict[str, list[dict]]] = {split: {name: [] for name in trainer.tasks} for split in splits}
    for folder in folders:
        if folder is not None:
            load_container_weights(model, folder)
        for split in splits:
            metrics = trainer.evaluate(split=split, metric_key_prefix=split)
            for name in trainer.tasks:
                prefix = f"{split}_{name}_"
                scores[split][name].append({k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)})
    return scores


def export_run(
    trainer: MultiTaskTrainer,
    tokenizer: PreTrainedTokenizerBase,
    output_dir: str | os.PathLike,
    should_save: bool,
    test_predictions: Mapping[str, list[list[str]]] | None = None,
) -> None:
    """Per dataset: a standalone checkpoint (shared layers included, pipeline code added) and its test predictions,
    taken from `test_predictions` (`RunScores.final_test_predictions`) or predicted. Every process predicts (batches
    are dealt across them); the main one writes."""
    container = trainer.accelerator.unwrap_model(trainer.model)
    for name in trainer.tasks:
        if test_predictions is not None and name in test_predictions:
            predicted = test_predictions[name]
        else:
            predicted = trainer.predict_words(name, "test")
        if not should_save:
            continue
        export_dir = Path(output_dir) / "export" / name
        container.model_for(name).save_pretrained(export_dir)
        tokenizer.save_pretrained(export_dir)
        add_pipeline_code(export_dir)
        write_predictions(
            Path(output_dir) / "predictions" / f"{name}.jsonl",
            trainer.tasks[name].words["test"]["tokens"],
            trainer.gold_words(name, "test"),
            predicted,
        )


def prior_steps(mtl_xc_checkpoint: str | os.PathLike | None) -> int:
    """Optimizer updates behind a run this one starts from (an MTL-XC run folder or one of its exports), read from
    that run's `run_config.json`; 0 when there is none (a checkpoint from elsewhere)."""
    if mtl_xc_checkpoint is None:
        return 0
    path = Path(mtl_xc_checkpoint)
    for folder in (path, path.parent.parent):
        if (folder / RUN_CONFIG).is_file():
            return int(json.loads((folder / RUN_CONFIG).read_text()).get("total_steps", 0))
    return 0


__all__ = ["Protocol", "RunScores", "export_run", "prior_steps", "score_checkpoints", "train_and_score"]
