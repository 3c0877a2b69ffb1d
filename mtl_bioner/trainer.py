"""`Trainer` for several datasets at once: task batches, layer-wise learning rates, per-dataset entity scores."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import safetensors.torch
import torch
from torch.utils.data import DataLoader
from transformers import Trainer

from .alignment import reassemble
from .collator import DataCollatorForWordCRF
from .metrics import entity_scores
from .multitask import MultiTaskModel
from .sampling import TaskBatchSampler


@dataclass
class TaskData:
    """One dataset of a run: its label names, training windows and, per evaluation split, words and windows."""

    name: str
    label_names: list[str]
    train: datasets.Dataset | None = None
    words: dict[str, datasets.Dataset] = field(default_factory=dict)
    windows: dict[str, datasets.Dataset] = field(default_factory=dict)


def layerwise_parameter_groups(model: torch.nn.Module, learning_rate: float, decay: float) -> list[dict]:
    """Parameter groups with lr * decay ** (depth from the top) per encoder layer: the top layer trains at `lr`, the
    layer below at lr * decay, ..., the embeddings lowest at lr * decay ** n_layer; classifier and CRF at `lr`.

    This is the paper's intent ("lr[n-1] = lr[n] * decay_rate"). The authors' code instead scaled each layer's
    gradients, which Adam's per-parameter normalisation almost cancels. Shared parameters (MTL-LS) appear once.
    """
    rates: dict[int, tuple[float, torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad or id(parameter) in rates:
            continue
        parts = name.split(".")
        depth = 0  # classifier, CRF
        if "transformer" in parts:
            position = parts.index("transformer")
            n_layer = len(model.get_submodule(".".join(parts[: position + 1])).layer)
            is_layer = parts[position + 1] == "layer"
            depth = n_layer - 1 - int(parts[position + 2]) if is_layer else n_layer  # embeddings lowest
        rates[id(parameter)] = (learning_rate * decay**depth, parameter)
    groups: dict[float, list[torch.nn.Parameter]] = {}
    for rate, parameter in rates.values():
        groups.setdefault(rate, []).append(parameter)
    return [{"params": params, "lr": rate} for rate, params in sorted(groups.items(), reverse=True)]


class MultiTaskTrainer(Trainer):
    """A `Trainer` whose train batches each come from one dataset and whose evaluation scores every dataset.

    Metrics are named `eval_<dataset>_f1` (seqeval default mode, conlleval-compatible), `eval_<dataset>_strict_f1`
    (strict IOB2), with precision and recall alike, plus `eval_f1`, the mean F1 over datasets.
    """

    def __init__(
        self,
        model: MultiTaskModel,
        args,
        tasks: dict[str, TaskData],
        *,
        processing_class=None,
        eval_split: str = "validation",
        sampling_temperature: float = 1.0,
        layerwise_lr_decay: float = 0.9,
        **kwargs,
    ):
        self.tasks = tasks
        self.eval_split = eval_split
        self.sampling_temperature = sampling_temperature
        self.layerwise_lr_decay = layerwise_lr_decay
        train_parts = [
            task.train.add_column("task", [name] * len(task.train))
            for name, task in tasks.items()
            if task.train is not None
        ]
        train_dataset = datasets.concatenate_datasets(train_parts) if train_parts else None
        # Declared so Trainer accepts an eval_strategy; `evaluate` reads words and windows from `tasks` itself.
        eval_dataset = {name: task.windows[eval_split] for name, task in tasks.items() if eval_split in task.windows}
        super().__init__(
            model=model,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset or None,
            data_collator=DataCollatorForWordCRF(processing_class),
            processing_class=processing_class,
            **kwargs,
        )

    def get_train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            raise ValueError("MultiTaskTrainer: no task has a training split")
        dataset = self._remove_unused_columns(self.train_dataset, description="training")
        lengths = None
        if self.args.train_sampling_strategy == "group_by_length":
            lengths = [len(ids) for ids in dataset["input_ids"]]
        sampler = TaskBatchSampler(
            dataset["task"],
            self._train_batch_size,
            temperature=self.sampling_temperature,
            seed=self.args.seed,
            lengths=lengths,
        )
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
        )
        return self.accelerator.prepare(loader)

    def create_optimizer(self, model=None) -> torch.optim.Optimizer:
        if self.optimizer is None:
            groups = layerwise_parameter_groups(self.model, self.args.learning_rate, self.layerwise_lr_decay)
            self.optimizer = torch.optim.AdamW(
                groups,
                lr=self.args.learning_rate,
                betas=(self.args.adam_beta1, self.args.adam_beta2),
                eps=self.args.adam_epsilon,
                weight_decay=self.args.weight_decay,
            )
        return self.optimizer

    @torch.no_grad()
    def predict_words(self, task: str, split: str) -> list[list[str]]:
        """Word-level tag names for every sentence of `split`, each word predicted once (see `alignment.reassemble`).

        Batches are dealt across processes and the results gathered, so every process returns the full list.
        """
        data = self.tasks[task]
        if split not in data.windows:
            raise KeyError(f"{task}: no {split!r} split loaded (have {sorted(data.windows)})")
        windows = data.windows[split].remove_columns([c for c in ("labels",) if c in data.windows[split].column_names])
        model = self.accelerator.unwrap_model(self.model).model_for(task)
        was_training = model.training
        model.eval()
        batch_size = self.args.per_device_eval_batch_size
        # Windows sorted by length make batches with little padding: XLNet's attention cost grows with the square.
        lengths = [len(ids) for ids in windows["input_ids"]]
        order = sorted(range(len(windows)), key=lengths.__getitem__)
        batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        collected = []
        with self.accelerator.split_between_processes(batches) as my_batches:
            for indices in my_batches:
                columns = windows[indices]
                batch = self.data_collator([dict(zip(columns, values)) for values in zip(*columns.values())])
                sentence_ids = batch.pop("sentence_id").tolist()
                batch = {key: value.to(self.args.device) for key, value in batch.items()}
                output = model(**batch)
                for word_ids, predictions, sentence_id in zip(
                    batch["word_ids"].tolist(), output.predictions.tolist(), sentence_ids
                ):
                    collected.append((word_ids, predictions, sentence_id))
        model.train(was_training)
        if self.accelerator.num_processes > 1:
            from accelerate.utils import gather_object

            collected = gather_object(collected)
        words = data.words[split]
        word_predictions = reassemble(
            [item[0] for item in collected],
            [item[1] for item in collected],
            [item[2] for item in collected],
            [len(tokens) for tokens in words["tokens"]],
        )
        names = data.label_names
        return [[names[tag] for tag in sentence] for sentence in word_predictions]

    def gold_words(self, task: str, split: str) -> list[list[str]]:
        names = self.tasks[task].label_names
        return [[names[tag] for tag in sentence] for sentence in self.tasks[task].words[split]["ner_tags"]]

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval", split: str | None = None):
        """Entity scores of every dataset on `split` (default: the trainer's `eval_split`), logged and returned."""
        split = split or self.eval_split
        metrics: dict[str, float] = {}
        for task in self.tasks:
            scores = entity_scores(self.gold_words(task, split), self.predict_words(task, split))
            metrics.update({f"{metric_key_prefix}_{task}_{key}": value for key, value in scores.items()})
        metrics[f"{metric_key_prefix}_f1"] = sum(metrics[f"{metric_key_prefix}_{t}_f1"] for t in self.tasks) / len(
            self.tasks
        )
        if self.state.epoch is not None:
            metrics["epoch"] = self.state.epoch
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def load_container_weights(model: MultiTaskModel, checkpoint_dir: str | os.PathLike) -> None:
    """Load a checkpoint written by `MultiTaskTrainer` (safetensors only; nothing is unpickled)."""
    path = Path(checkpoint_dir) / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no model.safetensors, expected a checkpoint folder written by the trainer")
    model.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)


def checkpoint_dirs(output_dir: str | os.PathLike) -> list[Path]:
    """checkpoint-<step> folders of a run, oldest first."""
    folders = [p for p in Path(output_dir).glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return sorted(folders, key=lambda p: int(p.name.split("-")[-1]))


def mean_and_sd(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def write_predictions(
    path: str | os.PathLike, tokens: list[list[str]], gold: list[list[str]], predicted: list[list[str]]
) -> None:
    """One JSON object per sentence: tokens, gold and predicted word-level tags (read by `mtl_bioner.analysis`)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for sentence in zip(tokens, gold, predicted):
            handle.write(json.dumps(dict(zip(("tokens", "gold", "pred"), sentence))) + "\n")


__all__ = [
    "MultiTaskTrainer",
    "TaskData",
    "checkpoint_dirs",
    "layerwise_parameter_groups",
    "load_container_weights",
    "mean_and_sd",
    "write_predictions",
]
