"""Batch windows from `alignment.tokenize_dataset` into padded tensors for the word-level CRF model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from .alignment import IGNORE_INDEX, NO_WORD


@dataclass
class DataCollatorForWordCRF:
    """Pad `input_ids`, `attention_mask`, `labels` and `word_ids` on `tokenizer.padding_side` (left for XLNet).

    `word_ids` travel with the batch so the model can find each word's first piece whatever the padding side. Integer
    columns such as `sentence_id` become a LongTensor. A string `task` column becomes `batch["task"]`, the name the
    container routes the batch by: the batch must hold one task, or, given `task_routes` (task -> model key, as
    `MultiTaskModel.routes`), tasks that all route to one model (mixed MTL-XC batches), in which case the first task
    name in sorted order stands for the batch.
    """

    tokenizer: PreTrainedTokenizerBase
    pad_to_multiple_of: int | None = None
    task_routes: Mapping[str, str] | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        pad_values = {
            "input_ids": self.tokenizer.pad_token_id,
            "attention_mask": 0,
            "labels": IGNORE_INDEX,
            "word_ids": NO_WORD,
        }
        if self.tokenizer.pad_token_id is None:
            raise ValueError(f"{type(self.tokenizer).__name__} has no pad token, expected one to pad input_ids")
        length = max(len(feature["input_ids"]) for feature in features)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        left = self.tokenizer.padding_side == "left"
        batch: dict[str, Any] = {}
        for name in features[0]:
            values = [
                feature[name].tolist() if hasattr(feature[name], "tolist") else feature[name] for feature in features
            ]
            if name in pad_values:
                padded = []
                for sequence in values:
                    padding = [pad_values[name]] * (length - len(sequence))
                    padded.append(padding + sequence if left else sequence + padding)
                batch[name] = torch.tensor(padded, dtype=torch.long)
            elif name == "task":
                batch["task"] = self._routing_task(sorted(set(values)))
            elif all(isinstance(value, int) for value in values):
                batch[name] = torch.tensor(values, dtype=torch.long)
            else:
                raise ValueError(
                    f"Cannot collate column {name!r} ({type(values[0]).__name__}), expected ints or a task"
                )
        return batch

    def _routing_task(self, tasks: list[str]) -> str:
        if len(tasks) > 1:
            if self.task_routes is None:
                raise ValueError(f"A batch mixes tasks {tasks}, expected one task per batch")
            unknown = [task for task in tasks if task not in self.task_routes]
            if unknown:
                raise ValueError(
                    f"A batch holds tasks {unknown} that task_routes does not know ({sorted(self.task_routes)})"
                )
            models = sorted({self.task_routes[task] for task in tasks})
            if len(models) > 1:
                raise ValueError(
                    f"A batch mixes tasks {tasks} of different models {models}, expected tasks that share one model"
                )
        return tasks[0]


__all__ = ["DataCollatorForWordCRF"]
