"""Train a small SentencePiece unigram model on corpus text and save it as an `XLNetTokenizer` (tokenizer.json).

Tests and benchmarks cannot download `xlnet-base-cased`, so they train their own tokenizer with XLNet's special-token
id layout (`<unk>` 0, `<s>` 1, `</s>` 2, `<cls>` 3, `<sep>` 4, `<pad>` 5, `<mask>` 6, `<eod>` 7, `<eop>` 8). The model
is built from the (piece, score) list, which needs no protobuf, and the saved folder reloads with `AutoTokenizer`.

    python data_scripts/train_tokenizer.py --rows BC5CDR-disease,NCBI-disease --vocab_size 8000 --output_dir DIR
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
from collections.abc import Iterable, Iterator

import sentencepiece as spm
from transformers import XLNetTokenizer


if __package__ in (None, ""):  # run as a script: make `data_scripts` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from data_scripts.crichton import load_corpus  # noqa: E402
from data_scripts.registry import get_row  # noqa: E402


logger = logging.getLogger(__name__)

# XLNet's control symbols after <unk>, <s>, </s>, in XLNet's id order.
CONTROL_SYMBOLS = ["<cls>", "<sep>", "<pad>", "<mask>", "<eod>", "<eop>"]


def train_xlnet_tokenizer(
    sentences: Iterable[str], output_dir: str | os.PathLike, vocab_size: int = 8000, *, max_sentences: int = 1_000_000
) -> XLNetTokenizer:
    """Train a unigram model on `sentences` (one whitespace-joined sentence each) and save an XLNetTokenizer there.

    The text is first normalised with the tokenizer's own normaliser (NFKD, accents stripped, PTB quotes as `"`), so
    the pieces are learnt on what the tokenizer will see. `vocab_size` is an upper bound: small corpora get a smaller
    vocabulary instead of an error.
    """
    normalizer = XLNetTokenizer().backend_tokenizer.normalizer
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=(normalizer.normalize_str(sentence) for sentence in sentences),
        model_writer=model,
        model_type="unigram",
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        control_symbols=CONTROL_SYMBOLS,
        input_sentence_size=max_sentences,
        shuffle_input_sentence=True,
        minloglevel=2,
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = [(processor.id_to_piece(i), processor.get_score(i)) for i in range(processor.get_piece_size())]
    tokenizer = XLNetTokenizer(vocab=vocab, unk_id=processor.unk_id())
    tokenizer.save_pretrained(str(output_dir))
    return tokenizer


def corpus_sentences(
    rows: Iterable[str] = (),
    folders: Iterable[str] = (),
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Iterator[str]:
    """Training-split sentences of the given paper rows and upstream folders, each folder read once."""
    seen = set()
    for folder in [get_row(key).folder for key in rows] + list(folders):
        if folder in seen:
            continue
        seen.add(folder)
        for tokens in load_corpus(folder, data_dir, cache_dir=cache_dir, splits=["train"])["train"]["tokens"]:
            yield " ".join(tokens)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="", help="comma-separated paper row keys, e.g. BC5CDR-disease,NCBI-disease")
    parser.add_argument("--folders", default="", help="comma-separated upstream folders, e.g. AnatEM-IOB")
    parser.add_argument("--vocab_size", type=int, default=8000)
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--data_dir", default=None, help="corpus root (default: $CRICHTON_DATA_DIR, else download)")
    args = parser.parse_args(argv)
    rows = [key for key in args.rows.split(",") if key]
    folders = [folder for folder in args.folders.split(",") if folder]
    if not rows and not folders:
        parser.error("give --rows and/or --folders")
    tokenizer = train_xlnet_tokenizer(corpus_sentences(rows, folders, args.data_dir), args.output_dir, args.vocab_size)
    print(f"Saved XLNetTokenizer with {len(tokenizer)} pieces to {args.output_dir}")


if __name__ == "__main__":
    main()
