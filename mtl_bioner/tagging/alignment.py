"""Words to sub-word pieces with labels, cut into overlapping windows, and piece predictions back to words.

Every word survives the trip: a word the tokenizer maps to nothing becomes the unknown token, a word longer than a
window keeps its first pieces, and a sentence longer than a window is split into windows that overlap by up to
`stride` pieces and never cut a word. `reassemble` then reads each word's prediction from the window where that word
has the most context on both sides. Nothing is padded here: the collator pads on the tokenizer's side.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import datasets
from transformers import AutoTokenizer, PreTrainedTokenizerBase


IGNORE_INDEX = -100
NO_WORD = -1
LABEL_SCHEMES = ("first", "x")


def register_model_classes() -> None:
    """Register the `xlnet-crf` and `encoder-crf` Auto classes from the installed `modeling_xlnet_crf`, when it is.

    Imported by name, not by an import statement: this module also runs as a checkpoint's remote code, where the
    model file is not installed and loading needs `trust_remote_code=True` instead.
    """
    try:
        importlib.import_module("modeling_xlnet_crf")
    except ImportError:
        pass


def load_tokenizer(name_or_path: str, **kwargs) -> PreTrainedTokenizerBase:
    """`AutoTokenizer.from_pretrained`, made able to take pre-split words: byte-level BPE tokenizers (RoBERTa's)
    must add the space a word starts with, or `is_split_into_words=True` input is refused or tokenized as word
    continuations."""
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, **kwargs)
    if getattr(tokenizer, "add_prefix_space", None) is False:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **{**kwargs, "add_prefix_space": True})
    return tokenizer


def special_token_layout(tokenizer: PreTrainedTokenizerBase) -> tuple[list[int], list[int]]:
    """Special-token ids the tokenizer puts before and after a single sequence (XLNet: none; `<sep>`, `<cls>`).

    Found by encoding a probe with and without special tokens: a special-tokens mask would also flag the unknown
    token, which a small vocabulary may give the probe."""
    with_specials = tokenizer("a")["input_ids"]
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    for start in range(len(with_specials) - len(bare) + 1):
        if with_specials[start : start + len(bare)] == bare:
            return with_specials[:start], with_specials[start + len(bare) :]
    raise ValueError(f"{type(tokenizer).__name__} changes the pieces of a text when adding special tokens")


def word_pieces(sentences: Sequence[Sequence[str]], tokenizer: PreTrainedTokenizerBase) -> list[list[list[int]]]:
    """Piece ids of each word of each sentence, with the unknown token for words that would get no piece."""
    encoding = tokenizer([list(words) for words in sentences], is_split_into_words=True, add_special_tokens=False)
    unk_id = tokenizer.unk_token_id
    result = []
    for index, words in enumerate(sentences):
        pieces: list[list[int]] = [[] for _ in words]
        for piece_id, word_id in zip(encoding["input_ids"][index], encoding.word_ids(index), strict=True):
            pieces[word_id].append(piece_id)
        for word in pieces:
            if not word:
                word.append(unk_id)
        result.append(pieces)
    return result


def window_spans(piece_counts: Sequence[int], budget: int, stride: int) -> list[tuple[int, int]]:
    """Word ranges `[start, end)` of windows holding at most `budget` pieces, overlapping by at most `stride` pieces.

    Windows start and end on word boundaries; a word with more than `budget` pieces is counted (and later cut) as
    `budget` pieces. The overlap is shrunk when needed so that each window takes in at least one new word: there are
    never more windows than words, and every word lies in some window.
    """
    counts = [min(count, budget) for count in piece_counts]
    if not counts:
        return [(0, 0)]
    spans = []
    start = 0
    while True:
        end, used = start, 0
        while end < len(counts) and used + counts[end] <= budget:
            used += counts[end]
            end += 1
        spans.append((start, end))
        if end == len(counts):
            return spans
        next_start, overlap = end, 0
        overlap_limit = min(stride, budget - counts[end])
        while next_start - 1 > start and overlap + counts[next_start - 1] <= overlap_limit:
            next_start -= 1
            overlap += counts[next_start]
        start = next_start


def window_layout(
    tokenizer: PreTrainedTokenizerBase, label_scheme: str, x_label_id: int | None, max_seq_length: int, stride: int
) -> tuple[list[int], list[int], int]:
    """Checked window settings: the special tokens before and after the pieces, and how many pieces fit between."""
    if label_scheme not in LABEL_SCHEMES:
        raise ValueError(f"label_scheme={label_scheme!r}, expected one of {LABEL_SCHEMES}")
    if label_scheme == "x" and x_label_id is None:
        raise ValueError("label_scheme='x' needs x_label_id, the label id given to continuation pieces")
    prefix, suffix = special_token_layout(tokenizer)
    budget = max_seq_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(
            f"max_seq_length={max_seq_length} leaves no room for pieces after {len(prefix) + len(suffix)} special tokens"
        )
    if not 0 <= stride < budget:
        raise ValueError(f"stride={stride}, expected 0 <= stride < {budget} (max_seq_length minus special tokens)")
    return prefix, suffix, budget


def encode_words(
    pieces: list[list[int]],
    tags: Sequence[int] | None,
    sentence_id: int,
    prefix: list[int],
    suffix: list[int],
    budget: int,
    stride: int,
    continuation_label: int,
) -> list[dict[str, Any]]:
    """Windows of one sentence given its pieces per word and the settings from `window_layout` (no tokenizer call,
    so callers can tokenize many sentences in one batch first)."""
    if tags is not None and len(tags) != len(pieces):
        raise ValueError(
            f"Sentence {sentence_id}: {len(tags)} tags for {len(pieces)} words, expected one tag per word"
        )
    windows = []
    for start, end in window_spans([len(word) for word in pieces], budget, stride):
        input_ids, word_ids, labels = list(prefix), [NO_WORD] * len(prefix), [IGNORE_INDEX] * len(prefix)
        for word_index in range(start, end):
            word = pieces[word_index][:budget]
            input_ids += word
            word_ids += [word_index] * len(word)
            if tags is not None:
                labels += [tags[word_index]] + [continuation_label] * (len(word) - 1)
        input_ids += suffix
        word_ids += [NO_WORD] * len(suffix)
        window = {
            "input_ids": input_ids,
            "attention_mask": [1] * len(input_ids),
            "word_ids": word_ids,
            "sentence_id": sentence_id,
        }
        if tags is not None:
            window["labels"] = labels + [IGNORE_INDEX] * len(suffix)
        windows.append(window)
    return windows


def encode_sentence(
    tokens: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    tags: Sequence[int] | None = None,
    *,
    label_scheme: str = "first",
    x_label_id: int | None = None,
    max_seq_length: int = 512,
    stride: int = 128,
    sentence_id: int = 0,
) -> list[dict[str, Any]]:
    """Encode one sentence into windows of `input_ids`, `attention_mask`, `word_ids`, `sentence_id` (and `labels`).

    Labels: the word's tag on its first piece; continuation pieces get -100 (`label_scheme="first"`) or `x_label_id`
    (`"x"`, the paper's [X] scheme); special tokens get -100. `word_ids` index words in the sentence, -1 for specials.
    """
    prefix, suffix, budget = window_layout(tokenizer, label_scheme, x_label_id, max_seq_length, stride)
    continuation_label = IGNORE_INDEX if label_scheme == "first" else x_label_id
    pieces = word_pieces([tokens], tokenizer)[0]
    return encode_words(pieces, tags, sentence_id, prefix, suffix, budget, stride, continuation_label)


def _encode_batch(
    batch: dict[str, list],
    indices: list[int],
    tokenizer: PreTrainedTokenizerBase,
    label_scheme: str,
    x_label_id: int | None,
    max_seq_length: int,
    stride: int,
) -> dict[str, list]:
    prefix, suffix, budget = window_layout(tokenizer, label_scheme, x_label_id, max_seq_length, stride)
    continuation_label = IGNORE_INDEX if label_scheme == "first" else x_label_id
    all_tags = batch.get("ner_tags", [None] * len(indices))
    columns: dict[str, list] = {"input_ids": [], "attention_mask": [], "word_ids": [], "sentence_id": []}
    if "ner_tags" in batch:
        columns["labels"] = []
    for pieces, tags, sentence_id in zip(word_pieces(batch["tokens"], tokenizer), all_tags, indices, strict=True):
        for window in encode_words(pieces, tags, sentence_id, prefix, suffix, budget, stride, continuation_label):
            for name, column in columns.items():
                column.append(window[name])
    return columns


def tokenize_dataset(
    dataset: datasets.Dataset,
    tokenizer: PreTrainedTokenizerBase,
    *,
    label_scheme: str = "first",
    x_label_id: int | None = None,
    max_seq_length: int = 512,
    stride: int = 128,
    num_proc: int | None = None,
) -> datasets.Dataset:
    """Windows of every sentence of a `tokens` (+ `ner_tags`) dataset; `sentence_id` is the row index in `dataset`.

    Runs as a batched `Dataset.map`, so `datasets` caches the result under a fingerprint of the inputs and arguments.
    """
    return dataset.map(
        _encode_batch,
        batched=True,
        with_indices=True,
        remove_columns=dataset.column_names,
        fn_kwargs={
            "tokenizer": tokenizer,
            "label_scheme": label_scheme,
            "x_label_id": x_label_id,
            "max_seq_length": max_seq_length,
            "stride": stride,
        },
        num_proc=num_proc,
        desc="Tokenizing into windows",
    )


def reassemble(
    word_ids_per_window: Sequence[Sequence[int]],
    piece_predictions_per_window: Sequence[Sequence[int]],
    sentence_ids: Sequence[int],
    num_words_per_sentence: Sequence[int],
) -> list[list[int]]:
    """One prediction per word per sentence, read at the word's first piece in the window where it has most context.

    Context is min(real pieces before the word, real pieces after it) within a window; ties go to the earliest
    window. Positions with word id -1 (specials, padding on either side) are ignored. Raises if a word is left
    without a prediction.
    """
    predictions: list[list[int | None]] = [[None] * count for count in num_words_per_sentence]
    scores: list[list[int]] = [[-1] * count for count in num_words_per_sentence]
    for word_ids, piece_predictions, sentence_id in zip(
        word_ids_per_window, piece_predictions_per_window, sentence_ids, strict=True
    ):
        word_ids = word_ids.tolist() if hasattr(word_ids, "tolist") else word_ids
        piece_predictions = piece_predictions.tolist() if hasattr(piece_predictions, "tolist") else piece_predictions
        sentence_predictions, sentence_scores = predictions[sentence_id], scores[sentence_id]
        real = [(position, word_id) for position, word_id in enumerate(word_ids) if word_id >= 0]
        first: dict[int, tuple[int, int]] = {}
        last: dict[int, int] = {}
        for rank, (position, word_id) in enumerate(real):
            first.setdefault(word_id, (rank, position))
            last[word_id] = rank
        for word_id, (rank, position) in first.items():
            score = min(rank, len(real) - 1 - last[word_id])
            if score > sentence_scores[word_id]:
                sentence_scores[word_id] = score
                sentence_predictions[word_id] = piece_predictions[position]
    for sentence_id, sentence_predictions in enumerate(predictions):
        missing = [index for index, prediction in enumerate(sentence_predictions) if prediction is None]
        if missing:
            raise ValueError(
                f"Sentence {sentence_id}: no window predicts word(s) {missing[:10]}, expected every word covered"
            )
    return predictions  # type: ignore[return-value]


__all__ = [
    "IGNORE_INDEX",
    "NO_WORD",
    "encode_sentence",
    "encode_words",
    "load_tokenizer",
    "reassemble",
    "special_token_layout",
    "tokenize_dataset",
    "window_layout",
    "window_spans",
    "word_pieces",
]
