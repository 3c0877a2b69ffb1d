"""The predictions file of a run (`predictions/<dataset>.jsonl`): written after training, read by the analysis.

One JSON object per sentence, `{"tokens": [...], "gold": [...], "pred": [...]}`, with one word-level tag per token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path


FIELDS = ("tokens", "gold", "pred")


def write_predictions(
    path: str | os.PathLike,
    tokens: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
) -> None:
    """Write one line per sentence; the three sequences must have the same sentences and words."""
    if not len(tokens) == len(gold) == len(predicted):
        raise ValueError(f"{len(tokens)} token sentences, {len(gold)} gold and {len(predicted)} predicted ones")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for index, sentence in enumerate(zip(tokens, gold, predicted)):
            if not len(sentence[0]) == len(sentence[1]) == len(sentence[2]):
                raise ValueError(
                    f"sentence {index}: {len(sentence[0])} tokens, {len(sentence[1])} gold and {len(sentence[2])} "
                    "predicted tags"
                )
            handle.write(json.dumps(dict(zip(FIELDS, map(list, sentence)))) + "\n")


def read_predictions(path: str | os.PathLike) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """(tokens, gold, predicted) per sentence, as given to `write_predictions`; blank lines are skipped."""
    tokens, gold, predicted = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: not a JSON object ({error.msg})") from None
            missing = [name for name in FIELDS if not isinstance(record, dict) or name not in record]
            if missing:
                raise ValueError(f"{path}:{line_number}: missing {missing}, expected an object with {list(FIELDS)}")
            if not len(record["tokens"]) == len(record["gold"]) == len(record["pred"]):
                raise ValueError(f"{path}:{line_number}: tokens, gold and pred differ in length")
            tokens.append(record["tokens"])
            gold.append(record["gold"])
            predicted.append(record["pred"])
    return tokens, gold, predicted


__all__ = ["read_predictions", "write_predictions"]
