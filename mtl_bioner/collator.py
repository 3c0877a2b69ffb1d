"""Batch windows from `alignment.tokenize_dataset` into padded tensors for the word-level CRF model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from .alignment import IGNORE_INDEX, NO_WORD


@dataclass
class DataCollatorForWordCRF:
    """Pad `input_ids`, `attention_mask`, `labels` and `word_ids` on `tokenizer.padding_side` (left for XLNet).

    `word_ids` travel with the batch so the model can find each word's first piece whatever the padding side. A
    string `task` column must be the same for the whole batch and is returned as `batch["task"]`; integer columns
    such as `sentence_id` become a LongTensor.
    """

    tokenizer: PreTrainedTokenizerBase
    pad_to_multiple_of: int | None = None

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
                tasks = sorted(set(values))
                if len(tasks) != 1:
                    raise ValueError(f"A batch mixes tasks {tasks}, expected one task per batch")
                batch["task"] = tasks[0]
            elif all(isinstance(value, int) for value in values):
                batch[name] = torch.tensor(values, dtype=torch.long)
            else:
                raise ValueError(
                    f"Cannot collate column {name!r} ({type(values[0]).__name__}), expected ints or a task"
                )
        return batch


__all__ = ["DataCollatorForWordCRF"]
