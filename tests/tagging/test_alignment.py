from __future__ import annotations

import time

import pytest
import torch

from data_scripts.crichton import SPLIT_FILES, load_corpus
from mtl_bioner.tagging.alignment import (
    IGNORE_INDEX,
    encode_sentence,
    reassemble,
    special_token_layout,
    tokenize_dataset,
    window_spans,
)
from mtl_bioner.tagging.collator import DataCollatorForWordCRF


MAX_SEQ_LENGTH, STRIDE = 64, 16


def round_trip(windows, num_words_per_sentence):
    return reassemble(windows["word_ids"], windows["labels"], windows["sentence_id"], num_words_per_sentence)


def test_round_trip_is_exact_on_every_present_corpus(crichton_dir, present_folders, corpus_cache, corpus_tokenizer):
    """Words -> pieces -> windows -> words is exact on every sentence of every present corpus.

    Each word's label is its own index in the sentence (stronger than the gold tags, which are mostly O: a word read
    from the wrong piece or window would show). Per-type subsets share their token stream with the combined folder
    (e.g. CRAFT-chem-IOB and CRAFT-IOB), and the trip depends on tokens only, so each distinct stream is run once.
    """
    started = time.perf_counter()
    seen_streams = set()
    num_windows = num_sentences = 0
    for folder in present_folders:
        splits = [split for split, name in SPLIT_FILES.items() if (crichton_dir / folder / name).is_file()]
        corpus = load_corpus(folder, crichton_dir, cache_dir=corpus_cache, splits=splits)
        for split in splits:
            tokens = corpus[split]["tokens"][:]
            stream = hash(tuple(map(tuple, tokens)))
            if stream in seen_streams:
                continue
            seen_streams.add(stream)
            indexed = (
                corpus[split]
                .remove_columns("ner_tags")
                .map(lambda batch: {"ner_tags": [list(range(len(words))) for words in batch["tokens"]]}, batched=True)
            )
            windows = tokenize_dataset(indexed, corpus_tokenizer, max_seq_length=MAX_SEQ_LENGTH, stride=STRIDE)
            windows = windows.with_format(columns=["word_ids", "labels", "sentence_id"])[:]
            assert max(len(ids) for ids in windows["word_ids"]) <= MAX_SEQ_LENGTH
            expected = [list(range(len(words))) for words in tokens]
            assert round_trip(windows, [len(words) for words in tokens]) == expected, (folder, split)
            num_windows += len(windows["sentence_id"])
            num_sentences += len(tokens)
    assert num_windows > num_sentences  # windowing was exercised
    print(
        f"round trip: {len(seen_streams)} streams, {num_sentences} sentences, {num_windows} windows, "
        f"{time.perf_counter() - started:.1f}s"
    )


def test_round_trip_with_gold_tags_and_x_scheme(crichton_dir, corpus_cache, corpus_tokenizer):
    corpus = load_corpus("BioNLP13CG-IOB", crichton_dir, cache_dir=corpus_cache, splits=["validation"])["validation"]
    x_label_id = len(corpus.features["ner_tags"].feature.names)
    windows = tokenize_dataset(
        corpus, corpus_tokenizer, label_scheme="x", x_label_id=x_label_id, max_seq_length=32, stride=8
    ).with_format(columns=["word_ids", "labels", "sentence_id"])[:]
    gold = corpus["ner_tags"][:]
    assert any(x_label_id in labels for labels in windows["labels"])
    assert round_trip(windows, [len(tags) for tags in gold]) == gold


def test_layout_and_labels(tiny_tokenizer):
    prefix, suffix = special_token_layout(tiny_tokenizer)
    assert prefix == [] and suffix == [tiny_tokenizer.sep_token_id, tiny_tokenizer.cls_token_id]
    tokens = ["Naloxone", "reverses", "hypertension", "."]
    (window,) = encode_sentence(tokens, tiny_tokenizer, [1, 0, 1, 0], sentence_id=7)
    assert window["input_ids"][-2:] == suffix
    assert window["attention_mask"] == [1] * len(window["input_ids"])
    assert window["sentence_id"] == 7
    word_ids, labels = window["word_ids"], window["labels"]
    assert word_ids[-2:] == [-1, -1] and labels[-2:] == [IGNORE_INDEX] * 2
    firsts = [i for i, word in enumerate(word_ids) if word >= 0 and (i == 0 or word_ids[i - 1] != word)]
    assert [labels[i] for i in firsts] == [1, 0, 1, 0]
    assert all(labels[i] == IGNORE_INDEX for i in range(len(labels)) if i not in firsts)
    (x_window,) = encode_sentence(tokens, tiny_tokenizer, [1, 0, 1, 0], label_scheme="x", x_label_id=9)
    assert [x_window["labels"][i] for i in range(len(word_ids) - 2) if i not in firsts] == [9] * (
        len(word_ids) - 2 - 4
    )
    assert "labels" not in encode_sentence(tokens, tiny_tokenizer)[0]
    with pytest.raises(ValueError, match="x_label_id"):
        encode_sentence(tokens, tiny_tokenizer, label_scheme="x")


def test_zero_piece_words_get_the_unknown_token(tiny_tokenizer):
    tokens = ["Naloxone", "\u0301", "", "rats"]
    (window,) = encode_sentence(tokens, tiny_tokenizer, [0, 1, 2, 0])
    unk_positions = [i for i, word in enumerate(window["word_ids"]) if word in (1, 2)]
    assert [window["input_ids"][i] for i in unk_positions] == [tiny_tokenizer.unk_token_id] * 2
    assert reassemble([window["word_ids"]], [window["labels"]], [0], [4]) == [[0, 1, 2, 0]]


def test_overlong_word_is_truncated_not_dropped(tiny_tokenizer):
    tokens = ["the", "hypertension" * 20, "rats", "were", "blocked"]
    windows = encode_sentence(tokens, tiny_tokenizer, [0, 1, 0, 0, 2], max_seq_length=12, stride=3)
    assert all(len(window["input_ids"]) <= 12 for window in windows)
    long_word = [window for window in windows if 1 in window["word_ids"]]
    assert len(long_word) == 1 and long_word[0]["word_ids"].count(1) == 10
    predictions = [window["labels"] for window in windows]
    assert reassemble([w["word_ids"] for w in windows], predictions, [0] * len(windows), [5]) == [[0, 1, 0, 0, 2]]


def test_window_spans_cover_every_word_and_respect_the_stride():
    counts = [1, 3, 2, 9, 1, 1, 2, 1, 4, 1, 1]
    spans = window_spans(counts, budget=6, stride=2)
    assert spans[0][0] == 0 and spans[-1][1] == len(counts)
    for (start, end), (next_start, next_end) in zip(spans, spans[1:]):
        assert start < next_start <= end < next_end
        assert sum(min(count, 6) for count in counts[next_start:end]) <= 2
    assert all(sum(min(count, 6) for count in counts[start:end]) <= 6 for start, end in spans)
    assert window_spans([], 6, 2) == [(0, 0)]


def test_reassemble_picks_the_window_with_most_context():
    # Sentence of 6 one-piece words, windows [0..3] and [2..5]: word 2 has context min(2,1)=1 then min(0,3)=0,
    # word 3 has min(3,0)=0 then min(1,2)=1. Ties (none here beyond those) go to the earliest window.
    word_ids = [[0, 1, 2, 3, -1, -1], [2, 3, 4, 5, -1, -1]]
    predictions = [[10, 11, 12, 13, 0, 0], [22, 23, 24, 25, 0, 0]]
    assert reassemble(word_ids, predictions, [0, 0], [6]) == [[10, 11, 12, 23, 24, 25]]
    left_padded = [[-1, -1] + ids for ids in word_ids]
    assert reassemble(left_padded, [[7, 7] + p for p in predictions], [0, 0], [6]) == [[10, 11, 12, 23, 24, 25]]
    tie = [[0, 1, 2], [0, 1, 2]]
    assert reassemble(tie, [[1, 2, 3], [4, 5, 6]], [0, 0], [3]) == [[1, 2, 3]]
    with pytest.raises(ValueError, match=r"Sentence 1: no window predicts word\(s\) \[0, 1\]"):
        reassemble([[0]], [[1]], [0], [1, 2])


def test_tokenize_dataset_is_cached(tiny_tokenizer, tmp_path):
    import datasets

    data = datasets.Dataset.from_dict({"tokens": [["Naloxone", "reverses"], ["rats"]], "ner_tags": [[1, 0], [0]]})
    data = datasets.load_from_disk(data.save_to_disk(tmp_path / "d") or tmp_path / "d")
    first = tokenize_dataset(data, tiny_tokenizer, max_seq_length=16, stride=4)
    second = tokenize_dataset(data, tiny_tokenizer, max_seq_length=16, stride=4)
    assert first._fingerprint == second._fingerprint
    assert first.cache_files == second.cache_files
    assert first["sentence_id"] == [0, 1]
    assert set(first.column_names) == {"input_ids", "attention_mask", "labels", "word_ids", "sentence_id"}


@pytest.mark.parametrize("side", ["left", "right"])
def test_collator_pads_on_the_tokenizer_side(tiny_tokenizer, side, monkeypatch):
    monkeypatch.setattr(tiny_tokenizer, "padding_side", side)
    features = [
        dict(
            encode_sentence(["Naloxone", "reverses", "hypertension"], tiny_tokenizer, [1, 0, 1], sentence_id=0)[0],
            task="t",
        ),
        dict(encode_sentence(["rats"], tiny_tokenizer, [0], sentence_id=1)[0], task="t"),
    ]
    batch = DataCollatorForWordCRF(tiny_tokenizer, pad_to_multiple_of=8)(features)
    assert batch["task"] == "t"
    assert batch["sentence_id"].tolist() == [0, 1] and batch["sentence_id"].dtype == torch.long
    length = batch["input_ids"].shape[1]
    assert length % 8 == 0
    short = len(features[1]["input_ids"])
    pad = slice(0, length - short) if side == "left" else slice(short, length)
    real = slice(length - short, length) if side == "left" else slice(0, short)
    assert batch["input_ids"][1, pad].eq(tiny_tokenizer.pad_token_id).all()
    assert batch["attention_mask"][1, pad].eq(0).all() and batch["attention_mask"][1, real].eq(1).all()
    assert batch["labels"][1, pad].eq(IGNORE_INDEX).all() and batch["word_ids"][1, pad].eq(-1).all()
    assert batch["input_ids"][1, real].tolist() == features[1]["input_ids"]
    restored = reassemble(batch["word_ids"], batch["labels"], batch["sentence_id"], [3, 1])
    assert restored == [[1, 0, 1], [0]]


def test_collator_rejects_mixed_tasks(tiny_tokenizer):
    window = encode_sentence(["rats"], tiny_tokenizer, [0])[0]
    with pytest.raises(ValueError, match=r"mixes tasks \['a', 'b'\]"):
        DataCollatorForWordCRF(tiny_tokenizer)([dict(window, task="a"), dict(window, task="b")])
