"""Tagging speed: `BioNERTagger` (Viterbi + CRF marginals) vs transformers' standard token-classification pipeline.

Same encoder size for both (XLNet, random init, n_layer 4, d_model 256 by default), the same tokenizer (trained on
the corpus text, XLNet id layout) and the same input: abstracts of detokenized NCBI-disease test sentences. The
standard side is `XLNetForTokenClassification` in `pipeline("token-classification", aggregation_strategy="simple")`,
given the same list of abstracts and the same batch size. Runs are interleaved (tagger, pipeline, tagger, ...) so
both see the same machine load; medians are reported as words per second (words as `text.tokenize` counts them).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, machine, publish


DEFAULT_CORPUS = Path("/work/shared/data/crichton/NCBI-disease-IOB/test.tsv")


def read_sentences(path: Path) -> list[list[str]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if current:
                sentences.append(current)
            current = []
        else:
            current.append(line.split("\t")[0])
    return sentences + ([current] if current else [])


def detokenize(tokens: list[str]) -> str:
    """Undo the corpus tokenization the way the text was most likely written: no space before , . ; : ) or
    around hyphens and slashes, none after (."""
    text = " ".join(tokens)
    text = re.sub(r" ([,.;:)\]%])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    return re.sub(r" ?([-/]) ?", r"\1", text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="A Crichton test.tsv")
    parser.add_argument("--abstracts", type=int, default=200)
    parser.add_argument("--sentences_per_abstract", type=int, default=10)
    parser.add_argument("--n_layer", type=int, default=4)
    parser.add_argument("--d_model", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--write",
        metavar="BENCHMARKS.md",
        help="replace the bench_infer section of this file",
    )
    args = parser.parse_args()

    from transformers import XLNetConfig, XLNetForTokenClassification, pipeline
    from transformers.utils import logging as hf_logging

    from data_scripts.train_tokenizer import train_xlnet_tokenizer
    from modeling_xlnet_crf import XLNetCRFConfig, XLNetForTokenClassificationCRF
    from mtl_bioner.inference import BioNERTagger
    from mtl_bioner.text import tokenize

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sentences = read_sentences(args.corpus)
    needed = args.abstracts * args.sentences_per_abstract
    sentences = (sentences * (needed // len(sentences) + 1))[:needed]
    abstracts = [
        " ".join(detokenize(s) for s in sentences[i : i + args.sentences_per_abstract])
        for i in range(0, needed, args.sentences_per_abstract)
    ]
    sentence_texts = [detokenize(s) for s in sentences]
    num_words = sum(len(tokenize(text)) for text in abstracts)
    tokenizer = train_xlnet_tokenizer((" ".join(s) for s in read_sentences(args.corpus)), tempfile.mkdtemp(), 4000)

    labels = ["O", "B-Disease", "I-Disease"]
    shape = dict(
        vocab_size=len(tokenizer),
        d_model=args.d_model,
        n_layer=args.n_layer,
        n_head=args.d_model // 64,
        d_inner=4 * args.d_model,
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        use_mems_eval=False,
    )
    crf_model = XLNetForTokenClassificationCRF(XLNetCRFConfig(**shape)).eval()
    plain_model = XLNetForTokenClassification(XLNetConfig(**shape)).eval()
    tagger = BioNERTagger(crf_model, tokenizer, batch_size=args.batch_size)
    standard = pipeline(
        "token-classification",
        model=plain_model,
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        device="cpu",
        batch_size=args.batch_size,
    )
    tagger(abstracts[:4])  # warm-up
    standard(abstracts[:4])
    # The standard pipeline runs twice: on the abstracts (what a user would pass) and on the same sentences the
    # tagger splits them into, which isolates what Viterbi, marginals and offsets cost.
    contenders = {
        "BioNERTagger (CRF), abstracts": lambda: tagger(abstracts),
        "standard pipeline (argmax), abstracts": lambda: standard(abstracts),
        "standard pipeline (argmax), pre-split sentences": lambda: standard(sentence_texts),
    }
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    rates = {name: num_words / statistics.median(times) for name, times in timings.items()}
    ours = rates["BioNERTagger (CRF), abstracts"]
    theirs = rates["standard pipeline (argmax), abstracts"]
    split = rates["standard pipeline (argmax), pre-split sentences"]
    lines = [
        "## Inference: BioNERTagger vs the standard token-classification pipeline",
        "",
        f"{args.abstracts} abstracts of {args.sentences_per_abstract} detokenized `{args.corpus.parent.name}` test "
        f"sentences ({num_words} words); XLNet n_layer {args.n_layer}, d_model {args.d_model}, random init; batch size "
        f"{args.batch_size}; {args.threads} threads; median of {args.rounds} interleaved rounds.",
        "",
        "| | words/s | median s | all runs (s) |",
        "|---|---|---|---|",
    ]
    for name, times in timings.items():
        lines.append(
            f"| {name} | {rates[name]:,.0f} | {statistics.median(times):.2f} | {', '.join(f'{t:.2f}' for t in times)} |"
        )
    lines += [
        "",
        f"Tagger / standard pipeline on the same abstracts: **{ours / theirs:.2f}x**; tagger / standard pipeline "
        f"on the pre-split sentences: **{ours / split:.2f}x** (goal >= 0.9x). The tagger splits sentences, windows "
        "long ones, runs Viterbi and the CRF forward-backward for scores; the standard pipeline takes a softmax "
        "argmax, and on abstracts feeds each one whole (attention cost grows with the square of the length).",
        "",
        f"Machine: {machine()}. Command: `{command()}`.",
    ]
    report = "\n".join(lines)
    publish(report, "bench_infer", args.write)


if __name__ == "__main__":
    main()
