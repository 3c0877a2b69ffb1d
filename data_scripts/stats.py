"""Per-split statistics of Crichton corpora or paper rows, printed as a markdown table.

    python data_scripts/stats.py --rows NCBI-disease,BC2GM [--tokenizer DIR]
    python data_scripts/stats.py --folders AnatEM-IOB
    python data_scripts/stats.py --all

Columns: sentences, tokens, mentions per type (entities as `schemes.entity_spans` reads them), sentence length percentiles p50/p90/p99/max in words (and in
tokenizer pieces, without special tokens, when `--tokenizer` is given), and for the test split the share of test
mention occurrences whose surface string also occurs as a training mention. Percentiles are nearest-rank.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import Counter
from collections.abc import Sequence

import datasets


if __package__ in (None, ""):  # run as a script: make `data_scripts` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_scripts.crichton import CORPUS_TYPES, SPLIT_FILES, CorpusUnavailableError, load_corpus  # noqa: E402
from data_scripts.registry import load_row  # noqa: E402
from data_scripts.schemes import entity_spans  # noqa: E402


def percentiles(lengths: Sequence[int]) -> str:
    """`p50/p90/p99/max` by nearest rank."""
    ordered = sorted(lengths)
    ranks = [ordered[max(0, math.ceil(q * len(ordered)) - 1)] for q in (0.5, 0.9, 0.99)]
    return "/".join(str(value) for value in ranks + [ordered[-1]])


def mentions(split: datasets.Dataset) -> list[tuple[str, str]]:
    """(type, surface string) of every mention in a split, surface words joined by single spaces."""
    names = split.features["ner_tags"].feature.names
    return [
        (entity_type, " ".join(tokens[start:end]))
        for tokens, tags in zip(split["tokens"], split["ner_tags"], strict=True)
        for entity_type, start, end in entity_spans([names[tag] for tag in tags])
    ]


def piece_counts(sentences: list[list[str]], tokenizer) -> list[int]:
    """Tokenizer pieces per sentence of words, without special tokens; a word with no piece counts one (it is fed to
    the model as the unknown token)."""
    encoded = tokenizer(sentences, is_split_into_words=True, add_special_tokens=False)
    counts = []
    for index, words in enumerate(sentences):
        covered = {word_id for word_id in encoded.word_ids(index) if word_id is not None}
        counts.append(len(encoded["input_ids"][index]) + len(words) - len(covered))
    return counts


def corpus_rows(name: str, corpus: datasets.DatasetDict, tokenizer=None) -> list[str]:
    """Markdown table rows, one per split of one corpus."""
    train_surfaces = {surface for _, surface in mentions(corpus["train"])} if "train" in corpus else None
    lines = []
    for split_name, split in corpus.items():
        tokens = split["tokens"][:]
        split_mentions = mentions(split)
        per_type = Counter(entity_type for entity_type, _ in split_mentions)
        words = percentiles([len(sentence) for sentence in tokens])
        pieces = ""
        if tokenizer is not None:
            pieces = percentiles(piece_counts(tokens, tokenizer))
        overlap = ""
        if split_name == "test" and train_surfaces is not None and split_mentions:
            seen = sum(surface in train_surfaces for _, surface in split_mentions)
            overlap = f"{100 * seen / len(split_mentions):.1f}"
        type_counts = ", ".join(f"{entity_type} {count}" for entity_type, count in sorted(per_type.items()))
        lines.append(
            f"| {name} | {split_name} | {len(tokens)} | {sum(map(len, tokens))} | {type_counts} | {words} | {pieces} "
            f"| {overlap} |"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--rows", help="comma-separated paper row keys (unified labels)")
    which.add_argument("--folders", help="comma-separated upstream folders (native labels)")
    which.add_argument("--all", action="store_true", help="every declared upstream folder")
    parser.add_argument("--tokenizer", help="tokenizer folder for lengths in pieces")
    parser.add_argument("--data_dir", default=None, help="corpus root (default: $CRICHTON_DATA_DIR, else download)")
    args = parser.parse_args(argv)
    datasets.disable_progress_bars()
    tokenizer = None
    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    if args.rows:
        targets = [
            (key, lambda key=key, splits=None: load_row(key, args.data_dir, splits=splits))
            for key in args.rows.split(",")
        ]
    else:
        folders = list(CORPUS_TYPES) if args.all else args.folders.split(",")
        targets = [
            (name, lambda name=name, splits=None: load_corpus(name, args.data_dir, splits=splits)) for name in folders
        ]
    print(
        "| corpus | split | sentences | tokens | mentions per type | words p50/p90/p99/max | pieces p50/p90/p99/max "
        "| test mentions seen in train (%) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, load in targets:
        corpus = _load_available(name, load)
        if corpus is None:
            print(f"| {name} | unavailable | | | | | | |")
            continue
        for line in corpus_rows(name, corpus, tokenizer):
            print(line)


def _load_available(name, load) -> datasets.DatasetDict | None:
    """All splits, else the splits that can be found (JNLPBA has no train file), else None (reported as unavailable)."""
    try:
        return load()
    except CorpusUnavailableError:
        available = {}
        for split in SPLIT_FILES:
            try:
                available.update(load(splits=[split]))
            except CorpusUnavailableError as error:
                print(f"<!-- {name}: {error} -->", file=sys.stderr)
        return datasets.DatasetDict(available) if available else None


if __name__ == "__main__":
    main()
