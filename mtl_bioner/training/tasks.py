"""The data of a run: each corpus (a `DatasetDict` of words and tags) as a `TaskData` of training windows and, per
evaluation split, the words and their windows."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import datasets
from transformers import PreTrainedTokenizerBase

from data_scripts.schemes import X_LABEL

from ..tagging.alignment import tokenize_dataset


@dataclass
class TaskData:
    """One dataset of a run: its label names, training windows and, per evaluation split, words and windows."""

    name: str
    label_names: list[str]
    train: datasets.Dataset | None = None
    words: dict[str, datasets.Dataset] = field(default_factory=dict)
    windows: dict[str, datasets.Dataset] = field(default_factory=dict)


@dataclass(frozen=True)
class WindowSettings:
    """How words become model inputs: the label scheme ("first" or the paper's "x") and the windows' size and overlap
    in pieces."""

    label_scheme: str = "first"
    max_seq_length: int = 512
    stride: int = 128


def tokenize_tasks(
    corpora: Mapping[str, datasets.DatasetDict],
    tokenizer: PreTrainedTokenizerBase,
    windows: WindowSettings,
    *,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    num_proc: int | None = None,
    main_process_first: Callable[..., contextlib.AbstractContextManager] | None = None,
) -> dict[str, TaskData]:
    """A `TaskData` per corpus. Label names come from the training split's `ClassLabel` (plus `X` in the "x"
    scheme); `main_process_first` (TrainingArguments') lets one process tokenize while the others wait for the cache."""
    tasks = {}
    for name, corpus in corpora.items():
        if "train" not in corpus:
            raise ValueError(f"{name}: no train split (have {sorted(corpus)}), expected train and test at least")
        label_names = list(corpus["train"].features["ner_tags"].feature.names)
        if windows.label_scheme == "x":
            label_names.append(X_LABEL)
        x_id = label_names.index(X_LABEL) if X_LABEL in label_names else None
        task = TaskData(name=name, label_names=label_names)
        for split, dataset in corpus.items():
            limit = max_train_samples if split == "train" else max_eval_samples
            if limit is not None:
                dataset = dataset.select(range(min(limit, len(dataset))))
            guard = (
                main_process_first(desc=f"tokenizing {name} {split}")
                if main_process_first
                else contextlib.nullcontext()
            )
            with guard:
                encoded = tokenize_dataset(
                    dataset,
                    tokenizer,
                    label_scheme=windows.label_scheme,
                    x_label_id=x_id,
                    max_seq_length=windows.max_seq_length,
                    stride=windows.stride,
                    num_proc=num_proc,
                )
            if split == "train":
                task.train = encoded.remove_columns(["sentence_id"])
            else:
                task.words[split], task.windows[split] = dataset, encoded
        tasks[name] = task
    return tasks


__all__ = ["TaskData", "WindowSettings", "tokenize_tasks"]
