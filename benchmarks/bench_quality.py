"""Quality and cost: a feature CRF (sklearn-crfsuite) next to the pretrained encoder's STL, MTL-XC and MTL-LS runs.

The feature CRF is the baseline a pretrained encoder has to beat on a CPU: each word is described by itself and its
two neighbours on each side (lowercased form, collapsed shape, prefixes and suffixes of 1-4 characters, case, digit
and hyphen flags, sentence boundaries), trained with L-BFGS (100 iterations, c1 = c2 = 0.1) on the train split and
scored on test in seqeval's default mode, like the encoder runs. The encoder rows come from a folder of run folders
(`make demo` writes `runs/demo/{stl,mtl-xc,mtl-ls-0.5}`): test scores from each run's `results.json`, training time
from Trainer's `train_runtime` in each run's `trainer_state.json`, and tagging speed measured here on the export of
each dataset with `BioNERTagger.tag_words` on the same test sentences the CRF tags.

    python benchmarks/bench_quality.py [--run_dir runs/demo] [--data_dir DIR] [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import command, machine, publish  # noqa: E402

from mtl_bioner.vocabulary import RunConfig, read_results, train_runtime  # noqa: E402


DEFAULT_DATASETS = ("NCBI-disease", "BC5CDR-disease")
WINDOW = 2
AFFIX_LENGTHS = (1, 2, 3, 4)
CRF_METHOD = "feature CRF"


def word_shape(word: str) -> str:
    """Capitals as X, lower case as x, digits as d, anything else kept; runs of one class collapsed (`IL-2` -> `X-d`,
    `Smith` -> `Xx`), so the shape generalises across word lengths."""
    shape = re.sub(r"\d", "d", re.sub(r"[a-z]", "x", re.sub(r"[A-Z]", "X", word)))
    return re.sub(r"(.)\1+", r"\1", shape)


def word_features(word: str, prefix: str = "") -> dict[str, str | bool]:
    """The features of one word, their names prefixed by its offset from the word being tagged."""
    features: dict[str, str | bool] = {
        f"{prefix}lower": word.lower(),
        f"{prefix}shape": word_shape(word),
        f"{prefix}is_upper": word.isupper(),
        f"{prefix}is_title": word.istitle(),
        f"{prefix}is_digit": word.isdigit(),
        f"{prefix}has_hyphen": "-" in word,
        f"{prefix}has_digit": any(character.isdigit() for character in word),
    }
    for length in AFFIX_LENGTHS:
        features[f"{prefix}prefix{length}"] = word[:length]
        features[f"{prefix}suffix{length}"] = word[-length:]
    return features


def sentence_features(words: Sequence[str]) -> list[dict[str, str | bool]]:
    """Per word: a bias, its own features, those of the words up to `WINDOW` away, and BOS/EOS at the edges."""
    sentence = []
    for index in range(len(words)):
        features: dict[str, str | bool] = {"bias": True}
        for offset in range(-WINDOW, WINDOW + 1):
            if 0 <= index + offset < len(words):
                features.update(word_features(words[index + offset], "" if offset == 0 else f"{offset:+d}:"))
        if index == 0:
            features["BOS"] = True
        if index == len(words) - 1:
            features["EOS"] = True
        sentence.append(features)
    return sentence


def feature_crf():
    """A fresh sklearn-crfsuite CRF with the baseline's settings (the `bench` extra installs it)."""
    try:
        import sklearn_crfsuite
    except ImportError as error:
        raise SystemExit(
            "the feature CRF needs sklearn-crfsuite: pip install -e '.[bench]' (or pip install sklearn-crfsuite)"
        ) from error
    return sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100, all_possible_transitions=True)


@dataclass
class Row:
    """One method on one dataset: test scores in [0, 1] and training seconds (None: not recorded). `shared`: one
    model trained for all datasets of its run; `continues`: the run it started from, whose time `prior_seconds` is."""

    dataset: str
    method: str
    precision: float
    recall: float
    f1: float
    train_seconds: float | None
    shared: bool = False
    continues: str | None = None
    prior_seconds: float | None = None
    words_per_second: float | None = None


def mode_folders(run_dir: Path) -> list[Path]:
    """`stl`, `mtl-xc` and every `mtl-ls-<rate>` run folder of `run_dir` that exists, in that order."""
    if not run_dir.is_dir():
        raise FileNotFoundError(f"--run_dir {run_dir} is not a folder")
    sliced = sorted(run_dir.glob("mtl-ls-*"), key=lambda folder: folder.name)
    folders = [folder for folder in [run_dir / "stl", run_dir / "mtl-xc", *sliced] if folder.is_dir()]
    if not folders:
        raise FileNotFoundError(f"{run_dir} holds no run folder: expected stl/, mtl-xc/ or mtl-ls-<rate>/")
    return folders


def run_scores(run_folder: Path, dataset: str) -> tuple[str, dict[str, float]]:
    """(method name, test scores) of `dataset` in a run folder's own `results.json`, which holds that run's method."""
    path = run_folder / "results.json"
    rows = read_results(run_folder)
    if dataset not in rows:
        raise KeyError(f"{path}: no row {dataset!r} (rows: {', '.join(sorted(rows)) or 'none'})")
    results = rows[dataset].get("results", {})
    if len(results) != 1:
        raise ValueError(
            f"{path}: row {dataset!r} has methods {sorted(results)}, expected exactly one (the run's own)"
        )
    [(method, scores)] = results.items()
    missing = [key for key in ("precision", "recall", "f1") if key not in scores]
    if missing:
        raise KeyError(f"{path}: {dataset}/{method} has no {', '.join(missing)}")
    return method, {key: float(scores[key]) for key in ("precision", "recall", "f1")}


def mtl_xc_folder(run_folder: Path, run_dir: Path) -> Path | None:
    """The MTL-XC run folder a run continued from, per its `run_config.json` (which may name one of its exports):
    the folder of that name in `run_dir` (the runs being compared), else the path as written. None: it started
    afresh."""
    source = RunConfig.read(run_folder).starts_from
    if not source:
        return None
    path = Path(source)
    if path.parent.name == "export":
        path = path.parent.parent
    sibling = run_dir / path.name
    return sibling if sibling.is_dir() else path


def encoder_rows(run_dir: Path, datasets: Sequence[str]) -> list[tuple[Row, Path]]:
    """A row per run folder and dataset, with the export folder to time."""
    rows = []
    for folder in mode_folders(run_dir):
        shared = folder.name != "stl"
        shared_seconds = train_runtime(folder) if shared else None
        source = mtl_xc_folder(folder, run_dir)
        prior_seconds = train_runtime(source) if source is not None else None
        for dataset in datasets:
            method, scores = run_scores(folder, dataset)
            export = folder / "export" / dataset
            if not (export / "config.json").is_file():
                raise FileNotFoundError(f"{export} holds no exported checkpoint (config.json)")
            row = Row(
                dataset,
                method,
                **scores,
                train_seconds=shared_seconds if shared else train_runtime(folder / dataset),
                shared=shared,
                continues=source.name if source is not None else None,
                prior_seconds=prior_seconds,
            )
            rows.append((row, export))
    return rows


def words_per_second(tag: Callable[[list[list[str]]], object], sentences: list[list[str]], rounds: int) -> float:
    """Words of `sentences` over the median time of `rounds` calls of `tag`, after one warm-up call on a few."""
    tag(sentences[:8])
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        tag(sentences)
        times.append(time.perf_counter() - started)
    return sum(map(len, sentences)) / statistics.median(times)


def format_seconds(row: Row) -> str:
    """`12.3 s`, `12.3 s, shared`, or for a continued run `12.3 s + 45.6 s in mtl-xc = 57.9 s`."""
    known = [seconds for seconds in (row.train_seconds, row.prior_seconds) if seconds is not None]
    text = "not recorded" if row.train_seconds is None else f"{row.train_seconds:.1f} s"
    if row.continues is not None:
        prior = "not recorded" if row.prior_seconds is None else f"{row.prior_seconds:.1f} s"
        total = f" = {sum(known):.1f} s" if len(known) == 2 else ""
        text = f"{text} + {prior} in {row.continues}{total}"
    return f"{text}, shared" if row.shared and row.continues is None else text


def report_table(rows: Sequence[Row]) -> list[str]:
    """Markdown rows in percent; the best F1 of each dataset in bold."""
    best = {row.dataset: max(other.f1 for other in rows if other.dataset == row.dataset) for row in rows}
    lines = [
        "| dataset | method | P | R | F1 | training time | tagging words/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        f1 = f"{100 * row.f1:.1f}"
        speed = "–" if row.words_per_second is None else f"{row.words_per_second:,.0f}"
        lines.append(
            f"| {row.dataset} | {row.method} | {100 * row.precision:.1f} | {100 * row.recall:.1f} | "
            f"{f'**{f1}**' if row.f1 == best[row.dataset] else f1} | {format_seconds(row)} | {speed} |"
        )
    return lines


def labelled_split(dataset, split: str) -> tuple[list[list[str]], list[list[str]]]:
    """Words and IOB tag strings of one split of a `load_row` dataset."""
    names = dataset[split].features["ner_tags"].feature.names
    return dataset[split]["tokens"], [[names[tag] for tag in tags] for tags in dataset[split]["ner_tags"]]


def crf_row(name: str, corpus, timed: list[list[str]], rounds: int) -> Row:
    """Train the feature CRF on `corpus`' train split, score it on test, time its tagging of `timed`."""
    from mtl_bioner.training.metrics import entity_scores

    train_words, train_tags = labelled_split(corpus, "train")
    test_words, test_tags = labelled_split(corpus, "test")
    crf = feature_crf()
    features = [sentence_features(words) for words in train_words]
    started = time.perf_counter()
    crf.fit(features, train_tags)
    seconds = time.perf_counter() - started
    scores = entity_scores(test_tags, crf.predict([sentence_features(words) for words in test_words]))
    row = Row(name, CRF_METHOD, scores["precision"], scores["recall"], scores["f1"], seconds)
    row.words_per_second = words_per_second(
        lambda sentences: crf.predict([sentence_features(words) for words in sentences]), timed, rounds
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default=",".join(DEFAULT_DATASETS), help="comma-separated registry rows")
    parser.add_argument("--data_dir", default=None, help="corpus root (default: $CRICHTON_DATA_DIR)")
    parser.add_argument("--run_dir", type=Path, default=None, help="folder of stl/, mtl-xc/, mtl-ls-<rate>/ runs")
    parser.add_argument("--max_sentences", type=int, default=500, help="test sentences tagged to time each method")
    parser.add_argument("--rounds", type=int, default=3, help="timed tagging passes; the median is reported")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32, help="BioNERTagger batch size")
    parser.add_argument("--write", metavar="BENCHMARKS.md", help="replace the bench_quality section of this file")
    args = parser.parse_args()

    import torch

    from data_scripts.registry import load_row
    from mtl_bioner.tagging.tagger import BioNERTagger

    torch.set_num_threads(args.threads)
    datasets = [name.strip() for name in args.datasets.split(",") if name.strip()]
    encoder = encoder_rows(args.run_dir, datasets) if args.run_dir is not None else []
    rows: list[Row] = []
    timed_sizes = []
    for name in datasets:
        corpus = load_row(name, args.data_dir, splits=["train", "test"])
        timed = corpus["test"]["tokens"][: args.max_sentences]
        timed_sizes.append(f"{name}: {len(timed)} sentences, {sum(map(len, timed))} words")
        rows.append(crf_row(name, corpus, timed, args.rounds))
        for row, export in encoder:
            if row.dataset == name:
                tagger = BioNERTagger.from_pretrained(export, batch_size=args.batch_size)
                row.words_per_second = words_per_second(tagger.tag_words, timed, args.rounds)
                rows.append(row)

    encoders = (
        f"Encoder rows: the runs in `{args.run_dir}`, test scores from their `results.json`; training time is "
        "Trainer's `train_runtime` from each run's `trainer_state.json` (\"shared\": one run trained the models of "
        "all datasets; a continued run adds the time of the run it started from)."
        if args.run_dir is not None
        else "No encoder rows (no --run_dir)."
    )
    lines = [
        "## Quality: a feature CRF vs the pretrained encoder (STL, MTL-XC, MTL-LS)",
        "",
        "Entity-level test scores in percent (seqeval default mode), best F1 per dataset in bold. Feature CRF: "
        f"sklearn-crfsuite, L-BFGS 100 iterations, c1 = c2 = 0.1, features of each word and the {WINDOW} on each "
        "side, trained on train; its training time is `fit` alone. " + encoders,
        f"Tagging speed on the first test sentences, pre-tokenized ({'; '.join(timed_sizes)}): median of "
        f"{args.rounds} timed passes after a warm-up, {args.threads} threads; the CRF's time includes feature "
        f"extraction, the encoders' is `BioNERTagger.tag_words` with batch size {args.batch_size}.",
        "",
        *report_table(rows),
        "",
        f"Machine: {machine()}. Command: `{command()}`.",
    ]
    publish("\n".join(lines), "bench_quality", args.write)


if __name__ == "__main__":
    main()
