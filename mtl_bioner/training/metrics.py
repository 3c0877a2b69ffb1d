"""Entity-level precision, recall and F1 with seqeval, in the two modes users compare against."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import BILOU, IOB1, IOB2, IOBES

from data_scripts.schemes import TagSchemeError, canonical_scheme, convert_tags, entity_spans, spans_to_tags


# The same scores as an `evaluate` metric module: `evaluate.load(str(ENTITY_F1_METRIC))` (package data).
ENTITY_F1_METRIC = Path(__file__).resolve().parent / "entity_f1"
# seqeval's strict-mode reading of each scheme: an entity counts only when it is well-formed in its own scheme.
_STRICT_SCHEMES = {"IOB1": IOB1, "IOB2": IOB2, "BIOES": IOBES, "BILOU": BILOU}


def entity_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str | None = None
) -> dict[str, float]:
    """Micro-averaged entity P/R/F1 in seqeval's default mode (conlleval-compatible, as the paper scored) and in
    strict mode (an entity must be well-formed, e.g. start with B- in IOB2), reported as `precision`, ... and
    `strict_precision`, ....

    Tags in another scheme than IOB2 (`scheme`; by default BIOES when an `E-`/`S-` tag occurs, BILOU for `L-`/`U-`)
    are converted to IOB2 first, so that F1 is comparable across schemes: gold with `schemes.convert_tags`, and each
    prediction the same way, or, when it breaks its scheme (a CRF without constraints), as conlleval reads it. The
    strict scores read the original tags in their own scheme. With no predicted (or no gold) entity the undefined
    ratio is 0, as in conlleval.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(gold_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted tags")
    gold, predicted = [list(tags) for tags in gold], [list(tags) for tags in predicted]
    scheme = canonical_scheme(scheme) if scheme is not None else _scheme_of(gold, predicted)
    default_gold, default_predicted = gold, predicted
    if scheme != "IOB2":
        default_gold = [_gold_to_iob2(tags, scheme, index) for index, tags in enumerate(gold)]
        default_predicted = [_predicted_to_iob2(tags, scheme) for tags in predicted]
    scores = {}
    for prefix, pair, options in (
        ("", (default_gold, default_predicted), {}),
        ("strict_", (gold, predicted), {"mode": "strict", "scheme": _STRICT_SCHEMES[scheme]}),
    ):
        scores[f"{prefix}precision"] = float(precision_score(*pair, zero_division=0, **options))
        scores[f"{prefix}recall"] = float(recall_score(*pair, zero_division=0, **options))
        scores[f"{prefix}f1"] = float(f1_score(*pair, zero_division=0, **options))
    return scores


def _scheme_of(gold: list[list[str]], predicted: list[list[str]]) -> str:
    """BIOES or BILOU when their own prefixes occur, else IOB2 (IOB1 must be named)."""
    prefixes = {tag.partition("-")[0] for tags in (*gold, *predicted) for tag in tags if "-" in tag}
    if prefixes & {"E", "S"}:
        return "BIOES"
    if prefixes & {"L", "U"}:
        return "BILOU"
    return "IOB2"


def _gold_to_iob2(tags: list[str], scheme: str, index: int) -> list[str]:
    try:
        return convert_tags(tags, scheme, "IOB2")
    except TagSchemeError as error:
        raise ValueError(f"gold sentence {index}, {error}: gold tags must be valid {scheme}") from None


def _predicted_to_iob2(tags: list[str], scheme: str) -> list[str]:
    try:
        return convert_tags(tags, scheme, "IOB2")
    except TagSchemeError:
        return spans_to_tags(entity_spans(tags), len(tags), "IOB2")


__all__ = ["ENTITY_F1_METRIC", "entity_scores"]
