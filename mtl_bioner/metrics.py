"""Entity-level precision, recall and F1 with seqeval, in the two modes users compare against."""

from __future__ import annotations

from collections.abc import Sequence

from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro-averaged entity P/R/F1 in seqeval's default mode (conlleval-compatible, as the paper scored) and in
    strict IOB2 mode (an entity must start with B-), reported as `precision`, ... and `strict_precision`, ....

    With no predicted (or no gold) entity the undefined ratio is 0, as in conlleval.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted tags")
    gold, predicted = [list(tags) for tags in gold], [list(tags) for tags in predicted]
    scores = {}
    for prefix, options in (("", {}), ("strict_", {"mode": "strict", "scheme": IOB2})):
        scores[f"{prefix}precision"] = float(precision_score(gold, predicted, zero_division=0, **options))
        scores[f"{prefix}recall"] = float(recall_score(gold, predicted, zero_division=0, **options))
        scores[f"{prefix}f1"] = float(f1_score(gold, predicted, zero_division=0, **options))
    return scores


__all__ = ["entity_scores"]
