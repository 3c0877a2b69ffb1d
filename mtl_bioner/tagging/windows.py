"""The one prediction loop over windows: evaluation during training (`MultiTaskTrainer.predict_words`) and tagging
(`BioNERTagger`) both call `predict_windows`, so that the scores and the deployed tagger cannot drift apart."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import torch
from transformers import PreTrainedModel

from .alignment import reassemble
from .collator import DataCollatorForWordCRF


MODEL_INPUTS = ("input_ids", "attention_mask", "word_ids")


@torch.inference_mode()
def predict_windows(
    model: PreTrainedModel,
    windows: Sequence[Mapping[str, Any]],
    num_words: Sequence[int],
    collator: DataCollatorForWordCRF,
    *,
    batch_size: int,
    with_scores: bool = False,
    progress: str | None = None,
    shard: Callable[[list], AbstractContextManager[list]] | None = None,
    gather: Callable[[list], list] | None = None,
) -> list[list[int]] | list[list[tuple[int, float]]]:
    """Each word's Viterbi tag (with `with_scores`, and its CRF marginal probability) for windows of
    `alignment.encode_words`, in sentences of `num_words` words.

    The one prediction loop of evaluation (`MultiTaskTrainer.predict_words`) and tagging (`BioNERTagger`), so that
    the scores and the deployed tagger cannot drift apart: windows longest first (batches of similar lengths waste
    little on padding, and memory peaks at the start), `batch_size` per forward pass, each word read from the window
    where it has most context (`alignment.reassemble`). `shard` deals the batches to this process and `gather`
    collects every process's rows (as `accelerate`'s `split_between_processes` and `gather_object` do).
    """
    order = sorted(range(len(windows)), key=lambda index: -len(windows[index]["input_ids"]))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    device = next(model.parameters()).device
    collected: list[tuple[list[int], list, int]] = []
    with shard(batches) if shard is not None else contextlib.nullcontext(batches) as my_batches:
        if progress:
            from tqdm.auto import tqdm

            my_batches = tqdm(my_batches, desc=progress, unit="batch")
        for indices in my_batches:
            chunk = [windows[index] for index in indices]
            batch = collator([{key: window[key] for key in MODEL_INPUTS} for window in chunk])
            inputs = {key: batch[key].to(device) for key in MODEL_INPUTS}
            output = model(**inputs, output_marginals=with_scores, return_dict=True)
            tags = output.predictions
            values = tags.tolist()
            if with_scores:
                chosen = output.marginals.gather(-1, tags.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                probabilities = chosen.masked_fill(tags < 0, 0.0).tolist()
                values = [
                    list(zip(row_tags, row_probabilities))
                    for row_tags, row_probabilities in zip(values, probabilities)
                ]
            collected.extend(zip(batch["word_ids"].tolist(), values, (window["sentence_id"] for window in chunk)))
    if gather is not None:
        collected = gather(collected)
    word_ids, values, sentence_ids = zip(*collected) if collected else ((), (), ())
    return reassemble(word_ids, values, sentence_ids, num_words)


__all__ = ["MODEL_INPUTS", "predict_windows"]
