"""A sweep folder's results in one document: per dataset and method the per-seed scores and their mean ± sd, the
best slicing rate chosen on test and on validation, and the chosen rate's significance against each baseline.

Reads DIR/sweep.json (written by `mtl_bioner.study.sweep`), each run's results.json and predictions/<dataset>.jsonl
(in a published folder, sentence_counts/<dataset>.json instead); `tables` writes it as DIR/results.json with the
tables and plots.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from data_scripts.registry import GROUPS

from ..vocabulary import (
    BASELINES,
    RESULTS,
    RowIdentity,
    mean_sd,
    mtl_ls_label,
    predictions_path,
    read_json,
    read_predictions,
    read_sweep,
    row_identity,
    run_result,
    sentence_counts_path,
    train_runtime,
)
from .paper import PAPER_TABLE1, PAPER_TABLE2
from .significance import approximate_randomization, hierarchical_bootstrap, holm, sentence_counts, sign_flip_test


METRICS = ("precision", "recall", "f1", "strict_f1")
COUNT_COLUMNS = ("true_positives", "predicted", "gold")
BOOTSTRAP_TEST = (
    "hierarchical bootstrap over seeds and test sentences (10,000 replicates; percentile 95 % interval, two-sided p, "
    "Holm-adjusted over the table's comparisons)"
)
SENTENCE_TEST = "approximate randomisation over test sentences (paired, two-sided, 10,000 swaps or exact)"
SEED_TEST = "exact sign-flip permutation test over seeds (paired by seed index)"


def summarise_seeds(per_seed: dict[int, dict]) -> dict:
    """Mean ± sd over seeds of each score (each seed's value is that run's last-N-checkpoint mean)."""
    seeds = sorted(per_seed)
    summary: dict = {"seeds": seeds, "per_seed": {str(s): per_seed[s] for s in seeds}}
    for metric in METRICS:
        values = [per_seed[s].get(metric) for s in seeds]
        summary[metric] = mean_sd(values) if all(v is not None for v in values) else None
    validation = [(per_seed[s].get("validation") or {}).get("f1") for s in seeds]
    summary["validation_f1"] = mean_sd(validation) if all(v is not None for v in validation) else None
    steps = {per_seed[s].get("total_steps") for s in seeds}
    summary["total_steps"] = sorted(steps) if None not in steps else None
    return summary


def collect_scores(
    directory: Path, runs: Sequence[dict]
) -> tuple[dict[str, dict[str, dict[int, dict]]], list[str], list[str]]:
    """scores[dataset][label][seed index] from each finished run's results.json, the unfinished runs' names and the
    runs whose reported `total_steps` differ from the plan's updates (equal compute broken).

    Run folders are found by name under the sweep folder, so a moved sweep folder still aggregates."""
    scores: dict[str, dict[str, dict[int, dict]]] = {}
    unfinished, off_budget = [], []
    for run in runs:
        folder = directory / run["name"]
        if not (folder / RESULTS).is_file():
            unfinished.append(run["name"])
            continue
        for dataset in run["datasets"]:
            result = run_result(folder, dataset, run["method"])
            scores.setdefault(dataset, {}).setdefault(run["label"], {})[run["seed_index"]] = result
            planned, reported = run.get("total_updates"), result.get("total_steps")
            if planned is not None and reported is not None and planned != reported:
                off_budget.append(f"{run['name']} ({dataset}: {reported} updates, planned {planned})")
    return scores, unfinished, off_budget


def best_rate(methods: dict[str, dict], rates: Sequence[float], key: str) -> float | None:
    """The slicing rate whose MTL-LS mean `key` ('f1' on test, 'validation_f1') is highest; None if any is missing."""
    values = []
    for rate in rates:
        summary = methods.get(mtl_ls_label(rate))
        if summary is None or summary.get(key) is None:
            return None
        values.append(summary[key]["mean"])
    return rates[int(np.argmax(values))]


def tokens_digest(tokens: Sequence[Sequence[str]]) -> str:
    """A fingerprint of the test sentences, so runs compared sentence by sentence are known to share them."""
    return hashlib.sha256(json.dumps(tokens, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def counts_from_predictions(path: Path) -> tuple[np.ndarray, str]:
    """Per-sentence entity counts (`sentence_counts`) of a predictions file and its sentences' digest."""
    tokens, gold, predicted = read_predictions(path)
    try:
        return sentence_counts(gold, predicted), tokens_digest(tokens)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def write_sentence_counts(predictions: Path, target: Path) -> None:
    """The counts a predictions file gives the tests, small enough to publish: a table can then be recomputed, and
    seeds trained on other machines added to it, after the run folders (and their predictions) are gone."""
    counts, digest = counts_from_predictions(predictions)
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"test_sentences_sha256": digest, "columns": list(COUNT_COLUMNS), "counts": counts.tolist()}
    target.write_text(json.dumps(document, separators=(",", ":")) + "\n", encoding="utf-8")


def read_sentence_counts(path: Path) -> tuple[np.ndarray, str]:
    """A file of `write_sentence_counts`, or an error naming the file and the field that is wrong."""
    document = read_json(path, "sentence counts")
    if not isinstance(document, dict) or document.get("columns") != list(COUNT_COLUMNS):
        raise ValueError(f"{path}: expected 'columns' {list(COUNT_COLUMNS)}")
    digest = document.get("test_sentences_sha256")
    if not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"{path}: 'test_sentences_sha256' must be a sha256 hex digest")
    rows = document.get("counts")
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and len(row) == 3 and all(type(value) is int and value >= 0 for value in row)
        for row in rows
    ):
        raise ValueError(f"{path}: 'counts' must be a list of [true_positives, predicted, gold] non-negative ints")
    counts = np.asarray(rows, dtype=np.int64).reshape(len(rows), 3)
    bad = np.flatnonzero((counts[:, 0] > counts[:, 1]) | (counts[:, 0] > counts[:, 2]))
    if bad.size:
        raise ValueError(f"{path}: 'counts' row {int(bad[0])} has more true positives than predicted or gold entities")
    return counts, digest


def run_sentence_counts(folder: Path, dataset: str) -> tuple[np.ndarray, str] | Path:
    """A run's per-sentence counts and test sentences' digest: from its predictions or, in a published folder,
    from its sentence counts; else the predictions file that is missing."""
    predictions = predictions_path(folder, dataset)
    if predictions.is_file():
        return counts_from_predictions(predictions)
    published = sentence_counts_path(folder, dataset)
    return read_sentence_counts(published) if published.is_file() else predictions


def seed_counts(
    folders: dict[int, Path], dataset: str, seeds: Sequence[int]
) -> tuple[list[np.ndarray], str] | dict[int, Path]:
    """Per seed, the per-sentence entity counts of one method's test predictions and the test sentences' digest;
    or, per seed index that has neither predictions nor sentence counts, its missing predictions file."""
    counts, reference, missing = [], None, {}
    for seed in seeds:
        found = run_sentence_counts(folders[seed], dataset)
        if isinstance(found, Path):
            missing[seed] = found
            continue
        if reference is None:
            reference = found[1]
        elif found[1] != reference:
            raise ValueError(f"{folders[seed]}: the {dataset} test sentences differ from seed {seeds[0]}'s")
        counts.append(found[0])
    return missing or (counts, reference)


def compare(scores: dict, folders: dict, dataset: str, label: str, other: str, seed: int) -> dict | None:
    """ΔF1 of `label` over `other`: its hierarchical bootstrap interval and p (seeds and sentences resampled), and
    the secondary tests over test sentences (seeds pooled) and over seeds. Without one seed's predictions neither
    test over sentences runs; `missing_seeds` names those seeds (`seed` is the sweep's first)."""
    if label not in scores or other not in scores:
        return None
    seeds = sorted(set(scores[label]) & set(scores[other]))
    if not seeds:
        return None
    differences = [scores[label][s]["f1"] - scores[other][s]["f1"] for s in seeds]
    result: dict = {"against": other, "seeds": seeds, "delta_f1": float(np.mean(differences))}
    first = seed_counts(folders[label], dataset, seeds)
    second = seed_counts(folders[other], dataset, seeds)
    missing = [item for item in (first, second) if isinstance(item, dict)]
    if missing:
        result["bootstrap"], result["sentences"] = None, None
        result["missing_predictions"] = [str(path) for item in missing for path in item.values()]
        result["missing_seeds"] = sorted({seed + index for item in missing for index in item})
    else:
        if first[1] != second[1]:
            raise ValueError(f"{dataset}: {label} and {other} predicted different test sentences")
        result["bootstrap"] = hierarchical_bootstrap(first[0], second[0], seed=seed)
        result["sentences"] = approximate_randomization(sum(first[0]), sum(second[0]), seed=seed)
    result["seeds_test"] = sign_flip_test(differences) if len(seeds) >= 2 else None
    return result


def run_runtimes(directory: Path, runs: Sequence[dict]) -> dict[str, float | None]:
    """Seconds each run spent training (`vocabulary.train_runtime`: every session of a resumed run where the run
    logged them; an STL run trains in `<run>/<dataset>/`). A published folder has no trainer states: there the
    runtimes of its earlier aggregation are kept."""
    earlier = {}
    if (directory / RESULTS).is_file():
        earlier = {
            run["name"]: run.get("train_runtime")
            for run in read_json(directory / RESULTS, "sweep results").get("runs", [])
        }
    runtimes = {}
    for run in runs:
        folder = directory / run["name"]
        runtime = train_runtime(folder / run["datasets"][0] if run["mode"] == "stl" else folder)
        runtimes[run["name"]] = runtime if runtime is not None else earlier.get(run["name"])
    return runtimes


def adjust_for_multiplicity(comparisons: Sequence[dict | None]) -> None:
    """Holm's correction of the bootstrap p-values over the comparisons of one table (`bootstrap.p_holm`)."""
    tested = [comparison["bootstrap"] for comparison in comparisons if comparison and comparison.get("bootstrap")]
    for result, adjusted in zip(tested, holm([result["p_value"] for result in tested])):
        result["p_holm"] = adjusted


def aggregate(directory: str | Path) -> dict:
    """The machine-readable sweep results: per dataset and method, per-seed scores and their mean ± sd, the best
    rates on test and on validation, and the significance of the chosen MTL-LS rate against STL, MTL-XC and, when
    it was run, the MTL-XC continued control (same updates: slicing against more training alone)."""
    directory = Path(directory)
    arguments, runs = read_sweep(directory)
    scores, unfinished, off_budget = collect_scores(directory, runs)
    runtimes = run_runtimes(directory, runs)
    rates = arguments["rates"]
    rows = {}
    for dataset in arguments["datasets"]:
        identity = sweep_row(dataset, arguments)
        dataset_scores = scores.get(dataset, {})
        folders: dict[str, dict[int, Path]] = {}  # the run folder of each method and seed that trained `dataset`
        for run in runs:
            if dataset in run["datasets"]:
                folders.setdefault(run["label"], {})[run["seed_index"]] = directory / run["name"]
        methods = {label: summarise_seeds(per_seed) for label, per_seed in dataset_scores.items()}
        on_test, on_validation = best_rate(methods, rates, "f1"), best_rate(methods, rates, "validation_f1")
        chosen, chosen_on = (on_validation, "validation") if on_validation is not None else (on_test, "test")
        significance = {}
        if chosen is not None:
            label = mtl_ls_label(chosen)
            significance = {
                "rate": chosen,
                "chosen_on": chosen_on,
                "comparisons": [
                    c
                    for other in BASELINES  # the controls only when they were run
                    if (c := compare(dataset_scores, folders, dataset, label, other, arguments["seed"])) is not None
                ],
            }
        validation_rate_f1 = methods[mtl_ls_label(on_validation)]["f1"] if on_validation is not None else None
        rows[dataset] = {
            "group": identity.group,
            "dataset": identity.dataset,
            "position": identity.position,
            "methods": methods,
            "best_rate": {
                "test": on_test,
                "validation": on_validation,
                "test_f1_at_validation_rate": validation_rate_f1,
            },
            "significance": significance,
            # Table 1's question, sharing everything against one model per dataset.
            "mtl_xc_vs_stl": compare(dataset_scores, folders, dataset, "MTL-XC", "STL", arguments["seed"]),
            "paper": {"table1": PAPER_TABLE1.get(dataset), "table2": PAPER_TABLE2.get(dataset)},
        }
    adjust_for_multiplicity([c for row in rows.values() for c in row["significance"].get("comparisons", [])])
    adjust_for_multiplicity([row["mtl_xc_vs_stl"] for row in rows.values()])
    return {
        "protocol": arguments,
        "header": protocol_line(arguments),
        "unfinished_runs": unfinished,
        "off_budget_runs": off_budget,
        "runs": [
            {
                "name": run["name"],
                "label": run["label"],
                "finished": run["name"] not in unfinished,
                "train_runtime": runtimes[run["name"]],
            }
            for run in runs
        ],
        "tests": {"bootstrap": BOOTSTRAP_TEST, "sentences": SENTENCE_TEST, "seeds": SEED_TEST},
        "rows": rows,
    }


def sweep_row(dataset: str, arguments: dict) -> RowIdentity:
    """A table row's identity: the paper's for a paper row; for a corpus of the sweep's corpora file the sweep's
    --group (a group of that file) or "other", and its own name."""
    group = arguments.get("group")
    return row_identity(dataset, group=group if group and group not in GROUPS else None)


def protocol_line(arguments: dict) -> str:
    seeds = arguments["seeds"]
    seed_text = (
        f"{seeds} seed{'s' if seeds > 1 else ''} ({', '.join(str(arguments['seed'] + s) for s in range(seeds))})"
    )
    if arguments["equal_compute"] and arguments.get("epochs") is not None:
        total = arguments["epochs"]
        start = total * arguments["xc_fraction"]
        compute = (
            f"equal compute per dataset: {total:g} epochs of each dataset for every method (STL {total:g} per "
            f"dataset; MTL-XC {total:g} over all datasets; MTL-LS and MTL-XC continued {start:g} of MTL-XC + "
            f"{total - start:g} of their own)"
        )
    elif arguments["equal_compute"]:
        total = arguments["updates"]
        start = round(total * arguments["xc_fraction"])
        compute = (
            f"equal compute: every model for a dataset saw {total} optimizer updates (STL {total} per dataset; "
            f"MTL-XC {total}; MTL-LS and MTL-XC continued {start} of MTL-XC + {total - start} of their own)"
        )
    else:
        compute = "the paper's protocol: every run trains for the passed-through epochs/steps, MTL-LS on top of MTL-XC"
    batches = "MTL-XC batches mix datasets" if arguments["mix_datasets"] else "MTL-XC batches hold one dataset each"
    flags = " ".join(arguments["passthrough"]) or "none"
    corpora = f"; corpora file: `{arguments['corpora']}`" if arguments.get("corpora") else ""
    return f"Protocol: {compute}; {seed_text}; {batches}{corpora}; run flags: `{flags}`."


__all__ = ["aggregate", "best_rate", "collect_scores", "protocol_line", "summarise_seeds", "sweep_row"]
