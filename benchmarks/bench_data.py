"""Time building and reloading the 22 paper rows, tokenized into windows, from a fresh and from a warm cache.

    python benchmarks/bench_data.py [--data_dir DIR] [--write BENCHMARKS.md]

A tokenizer is first trained (train_tokenizer) on the training text of the available rows. Then the same load +
tokenize pass runs twice, each in a fresh process on one new cache directory: "cold" builds the Arrow files and the
window cache, "warm" finds both cached. Unavailable rows or splits are skipped and listed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import command, machine, publish  # noqa: E402


def load_pass(data_dir: str | None, cache_dir: str, tokenizer_dir: str, max_seq_length: int, stride: int) -> dict:
    """Load and tokenize every available row; returns seconds, counts and what was skipped."""
    import datasets
    from transformers import AutoTokenizer

    from data_scripts.crichton import SPLIT_FILES, CorpusUnavailableError
    from data_scripts.registry import ROWS, load_row
    from mtl_bioner.tagging.alignment import tokenize_dataset

    datasets.disable_progress_bars()
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    started = time.perf_counter()
    skipped, num_windows, num_splits = [], 0, 0
    for row in ROWS:
        for split in SPLIT_FILES:
            try:
                corpus = load_row(row.key, data_dir, splits=[split], cache_dir=cache_dir)
            except CorpusUnavailableError:
                skipped.append(f"{row.key}/{split}")
                continue
            windows = tokenize_dataset(corpus[split], tokenizer, max_seq_length=max_seq_length, stride=stride)
            num_windows += len(windows)
            num_splits += 1
    return {"seconds": time.perf_counter() - started, "splits": num_splits, "windows": num_windows, "skipped": skipped}


def run_phase(args: argparse.Namespace, cache_dir: str, tokenizer_dir: str) -> dict:
    """One `load_pass` in a fresh process, so the warm figure includes no in-memory state of the cold one."""
    command = [sys.executable, __file__, "--phase", "--cache_dir", cache_dir, "--tokenizer", tokenizer_dir,
               "--max_seq_length", str(args.max_seq_length), "--stride", str(args.stride)]  # fmt: skip
    if args.data_dir:
        command += ["--data_dir", args.data_dir]
    started = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def report(args: argparse.Namespace, tokenizer_seconds: float, vocab: int, cold: dict, warm: dict) -> str:
    import datasets
    import transformers

    skipped = ", ".join(cold["skipped"]) or "none"
    return "\n".join(
        [
            "## Data loading",
            "",
            f"Command: `{_environment()}{command()}` (max_seq_length {args.max_seq_length}, stride {args.stride}).  ",
            f"Machine: {machine()}, transformers {transformers.__version__}, datasets {datasets.__version__}.",
            "",
            "| step | seconds (in process) | seconds (incl. interpreter start) |",
            "|---|---|---|",
            f"| train tokenizer (unigram, {vocab} pieces) on the rows' training text | {tokenizer_seconds:.1f} | |",
            f"| cold: build + tokenize {cold['splits']} splits of 22 rows | {cold['seconds']:.1f} | "
            f"{cold['process_seconds']:.1f} |",
            f"| warm: reload the same from cache | {warm['seconds']:.1f} | {warm['process_seconds']:.1f} |",
            "",
            f"{cold['windows']} windows. Skipped (unavailable here): {skipped}.",
        ]
    )


def _environment() -> str:
    """The data-source and offline variables the run saw, as a shell prefix; the corpus folder by its role, since
    its path is the measuring machine's own."""
    shown = {"CRICHTON_DATA_DIR": "<corpora>"}
    names = ("CRICHTON_DATA_DIR", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM")
    return "".join(f"{name}={shown.get(name, os.environ[name])} " for name in names if name in os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=None, help="corpus root (default: $CRICHTON_DATA_DIR, else download)")
    parser.add_argument("--write", metavar="BENCHMARKS.md", help="replace the data-loading section of this file")
    parser.add_argument("--vocab_size", type=int, default=8000)
    parser.add_argument("--max_seq_length", type=int, default=512)
    parser.add_argument("--stride", type=int, default=128)
    parser.add_argument("--phase", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache_dir", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(load_pass(args.data_dir, args.cache_dir, args.tokenizer, args.max_seq_length, args.stride)))
        return

    import datasets

    from data_scripts.crichton import CorpusUnavailableError
    from data_scripts.registry import ROWS
    from data_scripts.train_tokenizer import corpus_sentences, train_xlnet_tokenizer

    datasets.disable_progress_bars()
    with tempfile.TemporaryDirectory(prefix="bench_data_") as scratch:
        tokenizer_dir, cache_dir = f"{scratch}/tokenizer", f"{scratch}/cache"
        started = time.perf_counter()
        available = []
        for row in ROWS:
            try:
                next(corpus_sentences([row.key], data_dir=args.data_dir, cache_dir=f"{scratch}/tokenizer_cache"))
                available.append(row.key)
            except CorpusUnavailableError:
                pass
        sentences = corpus_sentences(available, data_dir=args.data_dir, cache_dir=f"{scratch}/tokenizer_cache")
        tokenizer = train_xlnet_tokenizer(sentences, tokenizer_dir, args.vocab_size)
        tokenizer_seconds = time.perf_counter() - started
        cold = run_phase(args, cache_dir, tokenizer_dir)
        warm = run_phase(args, cache_dir, tokenizer_dir)
    publish(report(args, tokenizer_seconds, len(tokenizer), cold, warm), "bench_data", args.write)


if __name__ == "__main__":
    main()
