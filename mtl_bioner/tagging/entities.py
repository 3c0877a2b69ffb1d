"""Entities as taggers return them, and what happens when the spans of several models overlap.

An entity is `{"start", "end", "text", "type", "score"}` with character offsets into the document and
`text == document[start:end]`; several models add `"model"` and, under the "keep" policy, `"overlapping"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from data_scripts.schemes import entity_spans

from .text import Word


Entity = dict[str, Any]
# What to do with overlapping spans of several models: keep them all and mark them, or keep a non-overlapping subset.
OVERLAP_POLICIES = ("keep", "resolve")


def sentence_entities(text: str, words: Sequence[Word], tagged: Sequence[tuple[str, float]]) -> list[Entity]:
    """Spans of one sentence from per-word (label, probability) pairs, read by `schemes.entity_spans` (seqeval's
    rule, for every tagging scheme; `X` reads as `O`); the score is the mean probability over the span's words."""
    entities: list[Entity] = []
    for entity_type, first, last in entity_spans([label for label, _ in tagged]):
        start, end = words[first].start, words[last - 1].end
        probabilities = [probability for _, probability in tagged[first:last]]
        entities.append(
            {
                "start": start,
                "end": end,
                "text": text[start:end],
                "type": entity_type,
                "score": sum(probabilities) / len(probabilities),
            }
        )
    return entities


def overlap(a: Entity, b: Entity) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def merge_entities(entities: list[Entity], policy: str, model_order: dict[str, int]) -> list[Entity]:
    """One document's entities of several models (each naming its `model`) under an overlap `policy`:

    * `"keep"`: every span, those overlapping another one marked `"overlapping": True`;
    * `"resolve"`: a non-overlapping subset kept greedily by higher score, then longer span, then model order.

    The result is in document order (ties by model order)."""
    if policy not in OVERLAP_POLICIES:
        raise ValueError(f"overlaps={policy!r}, expected one of {OVERLAP_POLICIES}")

    def order(entity: Entity) -> int:
        return model_order[entity["model"]]

    if policy == "resolve":
        kept: list[Entity] = []
        for entity in sorted(entities, key=lambda e: (-e["score"], e["start"] - e["end"], order(e), e["start"])):
            if not any(overlap(entity, other) for other in kept):
                kept.append(entity)
        entities = kept
    else:
        entities = [{**entity, "overlapping": False} for entity in entities]
        ordered = sorted(entities, key=lambda e: (e["start"], e["end"]))
        for position, entity in enumerate(ordered):
            for other in ordered[position + 1 :]:
                if other["start"] >= entity["end"]:
                    break
                entity["overlapping"] = other["overlapping"] = True
    return sorted(entities, key=lambda e: (e["start"], e["end"], order(e)))


__all__ = ["OVERLAP_POLICIES", "Entity", "merge_entities", "overlap", "sentence_entities"]
