"""Tables 1-2 of the paper from a sweep folder: mean ± sd over seeds, best slicing rates, significance and plots.

Reads DIR/sweep.json (written by `mtl_bioner.sweep`) and each run's results.json and predictions/<dataset>.jsonl;
writes DIR/table1.md, DIR/table2.md, DIR/f1_vs_slicing_rate_<group>.png and DIR/results.json.

Paper rows come first, in the paper's order, with the paper's values in parentheses. The datasets of a sweep over a
corpora file (`--corpora`) that are not paper rows follow in the sweep's order, under their own name, without paper
values, and in the group the sweep named (`--group`, a group of that file) or, swept by --datasets, in the group
"other" (the corpora file's name for corpora outside any group). The tables need only the sweep folder, not the file.

    python -m mtl_bioner.paper_tables runs/disease
    python -m mtl_bioner.paper_tables --summary summary.md runs/disease-equal runs/disease-paper  # one table of both
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .results import GROUP_TITLES
from .significance import approximate_randomization, sentence_counts, sign_flip_test


# F1 (and, for Table 1, precision and recall) in percent, transcribed from the paper's PDF text (Chai et al. 2022),
# keyed by this project's row names (data_scripts.registry.ROWS, same order as the paper's rows).
PAPER_TABLE1 = {  # Table 1 "Performance of STL-DS and MTL-XC on all tasks": (P, R, F1) per method
    "BC4CHEMD": {"STL": (93.00, 92.40, 91.70), "MTL-XC": (92.02, 92.49, 91.25)},
    "BC5CDR-chem": {"STL": (92.76, 93.96, 93.36), "MTL-XC": (93.43, 92.94, 93.19)},
    "BioNLP11ID-chem": {"STL": (55.56, 72.58, 62.94), "MTL-XC": (61.44, 75.81, 67.87)},
    "BioNLP13CG-chem": {"STL": (83.20, 85.14, 84.16), "MTL-XC": (82.35, 80.88, 81.61)},
    "BioNLP13PC-chem": {"STL": (88.57, 90.33, 89.44), "MTL-XC": (76.65, 83.80, 80.07)},
    "CRAFT-chem": {"STL": (84.07, 81.05, 82.54), "MTL-XC": (75.34, 72.38, 73.83)},
    "BC5CDR-disease": {"STL": (84.83, 88.11, 86.44), "MTL-XC": (86.40, 87.34, 86.87)},
    "NCBI-disease": {"STL": (87.27, 89.27, 88.26), "MTL-XC": (87.80, 89.73, 88.75)},
    "BC2GM": {"STL": (81.91, 82.53, 82.22), "MTL-XC": (82.67, 82.61, 82.64)},
    "BioNLP09": {"STL": (88.20, 86.82, 87.50), "MTL-XC": (87.23, 91.95, 89.53)},
    "BioNLP11EPI": {"STL": (84.23, 87.96, 85.81), "MTL-XC": (85.32, 87.63, 86.46)},
    "BioNLP11ID-ggp": {"STL": (89.22, 89.65, 89.43), "MTL-XC": (89.60, 88.47, 89.03)},
    "BioNLP13CG-ggp": {"STL": (88.45, 92.42, 90.39), "MTL-XC": (93.56, 91.63, 92.58)},
    "BioNLP13GE": {"STL": (73.57, 83.51, 78.22), "MTL-XC": (77.62, 90.55, 83.59)},
    "BioNLP13PC-ggp": {"STL": (89.56, 94.26, 91.85), "MTL-XC": (90.66, 87.93, 89.27)},
    "CRAFT-ggp": {"STL": (80.48, 75.44, 77.88), "MTL-XC": (78.56, 84.83, 81.57)},
    "Ex-PTM": {"STL": (74.79, 80.46, 77.52), "MTL-XC": (81.83, 86.83, 84.25)},
    "JNLPBA": {"STL": (71.98, 80.04, 75.80), "MTL-XC": (72.58, 85.04, 78.32)},
    "BioNLP11ID-species": {"STL": (85.41, 82.03, 83.68), "MTL-XC": (91.22, 70.24, 79.37)},
    "BioNLP13CG-species": {"STL": (88.34, 89.19, 88.76), "MTL-XC": (88.39, 86.68, 87.52)},
    "CRAFT-species": {"STL": (96.45, 97.73, 97.08), "MTL-XC": (93.76, 93.51, 93.63)},
    "LINNAEUS": {"STL": (91.70, 85.62, 88.56), "MTL-XC": (88.43, 82.14, 85.17)},
}
_TABLE2_COLUMNS = ("STL", "MTL-XC", "MTL-LS 0.25", "MTL-LS 0.50", "MTL-LS 0.75", "MTL-LS 1.00")
_TABLE2_ROWS = {  # Table 2 "F1 performance of STL, MTL-XC, and MTL-LS with different slicing rates"
    "BC4CHEMD": (91.70, 91.25, 91.82, 92.24, 92.37, 92.47),
    "BC5CDR-chem": (93.36, 93.19, 93.93, 93.75, 93.60, 93.14),
    "BioNLP11ID-chem": (62.94, 67.87, 42.29, 52.98, 73.41, 73.71),
    "BioNLP13CG-chem": (84.16, 81.61, 78.59, 78.50, 85.13, 82.47),
    "BioNLP13PC-chem": (89.44, 80.07, 81.25, 82.13, 84.03, 86.00),
    "CRAFT-chem": (82.54, 73.83, 76.73, 79.74, 77.96, 79.44),
    "BC5CDR-disease": (86.44, 86.87, 86.10, 87.04, 86.28, 87.34),
    "NCBI-disease": (88.26, 88.75, 85.23, 86.79, 89.24, 88.97),
    "BC2GM": (82.22, 82.64, 79.85, 81.54, 81.94, 82.94),
    "BioNLP09": (87.50, 89.53, 87.23, 89.53, 89.47, 89.27),
    "BioNLP11EPI": (85.81, 86.46, 84.65, 85.65, 86.24, 86.58),
    "BioNLP11ID-ggp": (89.43, 89.03, 83.62, 82.69, 89.59, 86.55),
    "BioNLP13CG-ggp": (90.39, 92.58, 91.33, 92.05, 92.71, 92.21),
    "BioNLP13GE": (78.22, 83.59, 81.29, 82.61, 82.73, 84.03),
    "BioNLP13PC-ggp": (91.85, 89.27, 89.16, 91.87, 90.59, 90.37),
    "CRAFT-ggp": (77.88, 81.57, 79.02, 82.62, 83.42, 82.18),
    "Ex-PTM": (77.52, 84.25, 78.52, 80.57, 84.64, 84.55),
    "JNLPBA": (75.80, 78.32, 75.08, 77.00, 77.32, 77.66),
    "BioNLP11ID-species": (83.68, 79.37, 70.91, 77.45, 83.74, 79.00),
    "BioNLP13CG-species": (88.76, 86.30, 88.97, 87.39, 86.07, 86.90),  # Table 1 gives MTL-XC 87.52 for this row
    "CRAFT-species": (97.08, 93.63, 95.56, 95.04, 94.74, 95.75),
    "LINNAEUS": (88.56, 85.17, 83.82, 84.05, 86.40, 85.06),
}
PAPER_TABLE2 = {key: dict(zip(_TABLE2_COLUMNS, values)) for key, values in _TABLE2_ROWS.items()}

METRICS = ("precision", "recall", "f1", "strict_f1")
BASELINES = ("STL", "STL continued", "MTL-XC", "MTL-XC continued")
SENTENCE_TEST = "approximate randomisation over test sentences (paired, two-sided, 10,000 swaps or exact)"
SEED_TEST = "exact sign-flip permutation test over seeds (paired by seed index)"


def _mean_sd(values: Sequence[float]) -> dict[str, float | None]:
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "sd": float(array.std(ddof=1)) if len(array) > 1 else None}


def summarise_seeds(per_seed: dict[int, dict]) -> dict:
    """Mean ± sd over seeds of each score (each seed's value is that run's last-N-checkpoint mean)."""
    seeds = sorted(per_seed)
    summary: dict = {"seeds": seeds, "per_seed": {str(s): per_seed[s] for s in seeds}}
    for metric in METRICS:
        values = [per_seed[s].get(metric) for s in seeds]
        summary[metric] = _mean_sd(values) if all(v is not None for v in values) else None
    validation = [(per_seed[s].get("validation") or {}).get("f1") for s in seeds]
    summary["validation_f1"] = _mean_sd(validation) if all(v is not None for v in validation) else None
    steps = {per_seed[s].get("total_steps") for s in seeds}
    summary["total_steps"] = sorted(steps) if None not in steps else None
    return summary


def load_sweep(directory: str | Path) -> tuple[dict, list[dict]]:
    path = Path(directory) / "sweep.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m mtl_bioner.sweep` into this folder first")
    document = json.loads(path.read_text())
    return document["arguments"], document["runs"]


def collect_scores(
    directory: Path, runs: Sequence[dict]
) -> tuple[dict[str, dict[str, dict[int, dict]]], list[str], list[str]]:
    """scores[dataset][label][seed index] from each finished run's results.json, the unfinished runs' names and the
    runs whose reported `total_steps` differ from the plan's updates (equal compute broken).

    Run folders are found by name under the sweep folder, so a moved sweep folder still aggregates."""
    scores: dict[str, dict[str, dict[int, dict]]] = {}
    unfinished, off_budget = [], []
    for run in runs:
        path = directory / run["name"] / "results.json"
        if not path.is_file():
            unfinished.append(run["name"])
            continue
        rows = json.loads(path.read_text()).get("rows", {})
        for dataset in run["datasets"]:
            result = rows.get(dataset, {}).get("results", {}).get(run["method"])
            if result is None:
                raise ValueError(f"{path}: no rows[{dataset!r}]['results'][{run['method']!r}]")
            missing = [metric for metric in ("precision", "recall", "f1") if metric not in result]
            if missing:
                raise ValueError(f"{path}: rows[{dataset!r}] {run['method']} lacks {missing}")
            scores.setdefault(dataset, {}).setdefault(run["label"], {})[run["seed_index"]] = result
            planned, reported = run.get("total_updates"), result.get("total_steps")
            if planned is not None and reported is not None and planned != reported:
                off_budget.append(f"{run['name']} ({dataset}: {reported} updates, planned {planned})")
    return scores, unfinished, off_budget


def best_rate(methods: dict[str, dict], rates: Sequence[float], key: str) -> float | None:
    """The slicing rate whose MTL-LS mean `key` ('f1' on test, 'validation_f1') is highest; None if any is missing."""
    values = []
    for rate in rates:
        summary = methods.get(f"MTL-LS {rate:.2f}")
        if summary is None or summary.get(key) is None:
            return None
        values.append(summary[key]["mean"])
    return rates[int(np.argmax(values))]


def read_predictions(path: Path) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    tokens, gold, predicted = [], [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        missing = {"tokens", "gold", "pred"} - set(record)
        if missing:
            raise ValueError(f"{path}:{number}: missing {sorted(missing)}")
        tokens.append(record["tokens"])
        gold.append(record["gold"])
        predicted.append(record["pred"])
    return tokens, gold, predicted


def pooled_counts(folders: dict[int, Path], dataset: str, seeds: Sequence[int]) -> tuple[np.ndarray, list] | Path:
    """Per-sentence entity counts of one method summed over seeds and the test sentences, or the first missing
    predictions file."""
    total, reference = None, None
    for seed in seeds:
        path = folders[seed] / "predictions" / f"{dataset}.jsonl"
        if not path.is_file():
            return path
        tokens, gold, predicted = read_predictions(path)
        if reference is None:
            reference = tokens
        elif tokens != reference:
            raise ValueError(f"{path}: test sentences differ from seed {seeds[0]}'s")
        try:
            counts = sentence_counts(gold, predicted)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        total = counts if total is None else total + counts
    return total, reference


def compare(scores: dict, folders: dict, dataset: str, label: str, other: str, seed: int) -> dict | None:
    """ΔF1 of `label` over `other` and its p-values over test sentences (pooled over seeds) and over seeds."""
    if label not in scores or other not in scores:
        return None
    seeds = sorted(set(scores[label]) & set(scores[other]))
    if not seeds:
        return None
    differences = [scores[label][s]["f1"] - scores[other][s]["f1"] for s in seeds]
    result: dict = {"against": other, "seeds": seeds, "delta_f1": float(np.mean(differences))}
    first = pooled_counts(folders[label], dataset, seeds)
    second = pooled_counts(folders[other], dataset, seeds)
    missing = [str(item) for item in (first, second) if isinstance(item, Path)]
    if missing:
        result["sentences"], result["missing_predictions"] = None, missing
    else:
        if first[1] != second[1]:
            raise ValueError(f"{dataset}: {label} and {other} predicted different test sentences")
        result["sentences"] = approximate_randomization(first[0], second[0], seed=seed)
    result["seeds_test"] = sign_flip_test(differences) if len(seeds) >= 2 else None
    return result


def aggregate(directory: str | Path) -> dict:
    """The machine-readable sweep results: per dataset and method, per-seed scores and their mean ± sd, the best
    rates on test and on validation, and the significance of the chosen MTL-LS rate against STL, MTL-XC and, when
    it was run, the MTL-XC continued control (same updates: slicing against more training alone)."""
    directory = Path(directory)
    arguments, runs = load_sweep(directory)
    scores, unfinished, off_budget = collect_scores(directory, runs)
    rates = arguments["rates"]
    rows = {}
    for dataset in arguments["datasets"]:
        group, name = row_identity(dataset, arguments)
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
            label = f"MTL-LS {chosen:.2f}"
            significance = {
                "rate": chosen,
                "chosen_on": chosen_on,
                "comparisons": [
                    c
                    for other in BASELINES  # the controls only when they were run
                    if (c := compare(dataset_scores, folders, dataset, label, other, arguments["seed"])) is not None
                ],
            }
        validation_rate_f1 = methods[f"MTL-LS {on_validation:.2f}"]["f1"] if on_validation is not None else None
        rows[dataset] = {
            "group": group,
            "dataset": name,
            "methods": methods,
            "best_rate": {
                "test": on_test,
                "validation": on_validation,
                "test_f1_at_validation_rate": validation_rate_f1,
            },
            "significance": significance,
            "paper": {"table1": PAPER_TABLE1.get(dataset), "table2": PAPER_TABLE2.get(dataset)},
        }
    return {
        "protocol": arguments,
        "header": protocol_line(arguments),
        "unfinished_runs": unfinished,
        "off_budget_runs": off_budget,
        "runs": [
            {"name": run["name"], "label": run["label"], "finished": run["name"] not in unfinished} for run in runs
        ],
        "tests": {"sentences": SENTENCE_TEST, "seeds": SEED_TEST},
        "rows": rows,
    }


def row_identity(dataset: str, arguments: dict) -> tuple[str, str]:
    """(group, display name) of a table row: the paper's for a paper row; for a corpus of the sweep's corpora file
    the sweep's --group (a group of that file) or "other", and its own name."""
    from data_scripts.corpora import DEFAULT_GROUP
    from data_scripts.registry import GROUPS, ROWS

    for row in ROWS:
        if row.key == dataset:
            return row.group, row.dataset
    group = arguments.get("group")
    return (group if group and group not in GROUPS else DEFAULT_GROUP), dataset


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


def _percent(summary: dict | None, metric: str, *, bold: bool = False, paper: float | None = None) -> str:
    if summary is None or summary.get(metric) is None:
        text = "–"
    else:
        value = summary[metric]
        text = f"{100 * value['mean']:.2f}" + (f" ± {100 * value['sd']:.2f}" if value["sd"] is not None else "")
        if bold:
            text = f"**{text}**"
    return text + (f" ({paper:.2f})" if paper is not None else "")


def _best_labels(methods: dict[str, dict], labels: Sequence[str]) -> set[str]:
    """The labels with the highest mean F1 of the row (all of them when tied)."""
    means = {label: methods[label]["f1"]["mean"] for label in labels if (methods.get(label) or {}).get("f1")}
    return {label for label, mean in means.items() if mean == max(means.values())}


def _ordered_rows(document: dict) -> list[tuple[str, dict, str]]:
    """(dataset key, row, group cell): paper rows in the paper's order, then the others in the sweep's order (a stable
    sort), the group title on each group's first row only."""
    from data_scripts.registry import ROWS

    position = {row.key: index for index, row in enumerate(ROWS)}
    ordered, previous = [], None
    for key, row in sorted(document["rows"].items(), key=lambda item: position.get(item[0], len(ROWS))):
        ordered.append((key, row, GROUP_TITLES.get(row["group"], row["group"]) if row["group"] != previous else ""))
        previous = row["group"]
    return ordered


def _preamble(document: dict, title: str) -> list[str]:
    lines = [f"# {title}", "", document["header"], ""]
    if document["unfinished_runs"]:
        lines += [
            f"Unfinished runs (their cells marked –, or averaging the finished seeds only): "
            f"{', '.join(document['unfinished_runs'])}.",
            "",
        ]
    if document["off_budget_runs"]:
        lines += [f"Warning, runs off the planned update budget: {', '.join(document['off_budget_runs'])}.", ""]
    return lines


def _steps_note(document: dict, labels: Sequence[str]) -> str:
    """The optimizer updates each method's models report (results.json total_steps), to check the protocol."""
    parts = []
    for label in labels:
        steps = set()
        for row in document["rows"].values():
            summary = row["methods"].get(label)
            if summary is not None:
                steps.update(summary["total_steps"] or [-1])
        if steps:
            parts.append(f"{label} {'/'.join('n/a' if s < 0 else str(s) for s in sorted(steps))}")
    return "Updates seen per model, as the runs report them: " + "; ".join(parts) + "."


def table1_markdown(document: dict) -> str:
    labels = ("STL", "MTL-XC")
    header = ["Entity type", "Dataset"] + [f"{m} {metric}" for m in labels for metric in ("P", "R", "F1")]
    lines = _preamble(document, "Table 1: STL vs MTL-XC (test, percent)")
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _key, row, group in _ordered_rows(document):
        methods, paper = row["methods"], row["paper"]["table1"] or {}
        best = _best_labels(methods, labels)
        cells = [group, row["dataset"]]
        for label in labels:
            values = paper.get(label, (None, None, None))
            cells += [
                _percent(methods.get(label), "precision", paper=values[0]),
                _percent(methods.get(label), "recall", paper=values[1]),
                _percent(methods.get(label), "f1", bold=label in best, paper=values[2]),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Entity-level scores on the test split (seqeval default mode), mean ± sd over seeds of each run's "
        "last-N-checkpoint mean; best F1 per row in bold. In parentheses: the paper's value (Table 1, same row).",
        _steps_note(document, labels),
    ]
    return "\n".join(lines) + "\n"


def _p_value(result: dict | None) -> str:
    return "n/a" if result is None else f"{result['p_value']:.4f}"


def table2_markdown(document: dict) -> str:
    rates = document["protocol"]["rates"]
    ls_labels = [f"MTL-LS {rate:.2f}" for rate in rates]
    present = {label for row in document["rows"].values() for label in row["methods"]}
    labels = [label for label in ("STL", "STL continued", "MTL-XC", "MTL-XC continued") if label in present]
    labels += ls_labels
    header = ["Entity type", "Dataset", *labels, "Best rate (test)", "Best rate (validation) → test F1"]
    lines = _preamble(document, "Table 2: F1 of STL, MTL-XC and MTL-LS per slicing rate (test, percent)")
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _key, row, group in _ordered_rows(document):
        methods, paper = row["methods"], row["paper"]["table2"] or {}
        best = _best_labels(methods, labels)
        cells = [group, row["dataset"]]
        cells += [_percent(methods.get(label), "f1", bold=label in best, paper=paper.get(label)) for label in labels]
        chosen = row["best_rate"]
        cells.append("–" if chosen["test"] is None else f"{chosen['test']:.2f}")
        if chosen["validation"] is None:
            cells.append("n/a (no validation scores)")
        else:
            cells.append(f"{chosen['validation']:.2f} → {_percent(chosen, 'test_f1_at_validation_rate')}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "F1 on the test split (seqeval default mode), mean ± sd over seeds of each run's last-N-checkpoint mean; best "
        "per row in bold. In parentheses: the paper's value (Table 2, same row and column). The paper picked the best "
        "rate on test; the last column picks it on validation F1 and reports that rate's test F1.",
        _steps_note(document, labels),
        "",
        "## Significance of the chosen MTL-LS rate",
        "",
        f"Over sentences: {SENTENCE_TEST}, on entity F1 of the final models' test predictions, the seeds' entity "
        f"counts pooled per sentence. Over seeds: {SEED_TEST} on the table's per-seed F1. The rate is the one chosen "
        "on validation (on test when validation scores are absent).",
        "",
        "| Dataset | Rate (chosen on) | vs | ΔF1 (mean over seeds) | p (sentences) | p (seeds) |",
        "|---|---|---|---|---|---|",
    ]
    for key, row, _group in _ordered_rows(document):
        significance = row["significance"]
        for comparison in significance.get("comparisons", []):
            lines.append(
                f"| {row['dataset']} ({key}) | {significance['rate']:.2f} ({significance['chosen_on']}) | "
                f"{comparison['against']} | {100 * comparison['delta_f1']:+.2f} | "
                f"{'n/a (no predictions)' if comparison.get('missing_predictions') else _p_value(comparison['sentences'])}"
                f" | {_p_value(comparison['seeds_test'])} |"
            )
    return "\n".join(lines) + "\n"


def plot_groups(document: dict, directory: Path) -> list[Path]:
    """One PNG per entity group: MTL-LS F1 against slicing rate per dataset, STL and MTL-XC as horizontal lines."""
    from matplotlib.figure import Figure

    rates = document["protocol"]["rates"]
    by_group: dict[str, list[tuple[str, dict]]] = {}
    for key, row, _group in _ordered_rows(document):
        by_group.setdefault(row["group"], []).append((key, row))
    paths = []
    for group, rows in by_group.items():
        columns = min(3, len(rows))
        figure = Figure(figsize=(4.2 * columns, 3.4 * math.ceil(len(rows) / columns)), layout="constrained")
        axes = figure.subplots(math.ceil(len(rows) / columns), columns, squeeze=False).ravel()
        for axis, (key, row) in zip(axes, rows):
            methods = row["methods"]
            points = [(r, methods.get(f"MTL-LS {r:.2f}")) for r in rates]
            points = [(r, s["f1"]) for r, s in points if s is not None and s.get("f1") is not None]
            if points:
                axis.errorbar(
                    [r for r, _ in points],
                    [100 * v["mean"] for _, v in points],
                    yerr=[100 * (v["sd"] or 0.0) for _, v in points],
                    marker="o",
                    capsize=3,
                    color="C2",
                    label="MTL-LS",
                )
            for label, color, style in (
                ("STL", "C0", "-"),
                ("STL continued", "C0", ":"),
                ("MTL-XC", "C1", "-"),
                ("MTL-XC continued", "C3", ":"),
            ):
                if methods.get(label, {}).get("f1") is not None:
                    axis.axhline(100 * methods[label]["f1"]["mean"], color=color, linestyle=style, label=label)
            paper = row["paper"]["table2"] or {}
            paper_points = [(r, paper.get(f"MTL-LS {r:.2f}")) for r in rates]
            paper_points = [(r, v) for r, v in paper_points if v is not None]
            if paper_points:
                axis.plot(*zip(*paper_points), "x--", color="0.6", label="MTL-LS (paper)")
            axis.set_title(key)
            axis.set_xlabel("slicing rate")
            axis.set_ylabel("test F1 (%)")
            axis.set_xticks(rates)
            axis.legend(fontsize="x-small")
        for axis in axes[len(rows) :]:
            axis.set_visible(False)
        path = directory / f"f1_vs_slicing_rate_{group}.png"
        figure.savefig(path, dpi=110)
        paths.append(path)
    return paths


SIGNIFICANCE_LEVEL = 0.05


def _protocol_name(arguments: dict) -> str:
    if arguments["equal_compute"]:
        if arguments.get("epochs") is not None:
            return f"equal compute ({arguments['epochs']:g} epochs per dataset)"
        return f"equal compute ({arguments['updates']} updates)"
    return "the paper's protocol"


def _sentence_p(comparison: dict) -> float | None:
    return (comparison.get("sentences") or {}).get("p_value")


def summary_markdown(documents: Sequence[dict]) -> str:
    """Several sweeps in one table (the CPU study: groups x protocols), so that the answer to "does MTL-LS beat STL
    and MTL-XC?" is counted by code, not read off by eye: per dataset the chosen MTL-LS rate against each baseline
    (ΔF1, p over test sentences), then per protocol on how many datasets it is ahead or behind, and significantly."""
    compared = {
        c["against"] for d in documents for r in d["rows"].values() for c in r["significance"].get("comparisons", [])
    }
    baselines = [baseline for baseline in BASELINES if baseline in compared]
    header = ["Protocol", "Dataset", "Seeds", "MTL-LS rate (chosen on)", *(f"vs {baseline}" for baseline in baselines)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    tallies: dict[str, dict[str, list[dict]]] = {}
    for document in documents:
        protocol = _protocol_name(document["protocol"])
        for key, row, _group in _ordered_rows(document):
            significance = row["significance"]
            if not significance:
                continue
            comparisons = {c["against"]: c for c in significance["comparisons"]}
            seeds = max(len(c["seeds"]) for c in significance["comparisons"])
            cells = [protocol, key, str(seeds), f"{significance['rate']:.2f} ({significance['chosen_on']})"]
            for baseline in baselines:
                comparison = comparisons.get(baseline)
                if comparison is None:
                    cells.append("–")
                    continue
                tallies.setdefault(protocol, {}).setdefault(baseline, []).append(comparison)
                p_value = _sentence_p(comparison)
                cells.append(
                    f"{100 * comparison['delta_f1']:+.2f}" + ("" if p_value is None else f" (p {p_value:.4f})")
                )
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"ΔF1 in F1 points, mean over seeds; p: {SENTENCE_TEST}.", ""]
    for protocol, by_baseline in tallies.items():
        parts = []
        for baseline, comparisons in by_baseline.items():
            ahead = [c for c in comparisons if c["delta_f1"] > 0]
            behind = [c for c in comparisons if c["delta_f1"] < 0]
            parts.append(
                f"ahead of {baseline} on {len(ahead)} of {len(comparisons)} datasets "
                f"({_significant(ahead)} with p < {SIGNIFICANCE_LEVEL}), behind on {len(behind)} ({_significant(behind)})"
            )
        lines.append(f"- {protocol}: MTL-LS is " + "; ".join(parts) + ".")
    return "\n".join(lines) + "\n"


def _significant(comparisons: Sequence[dict]) -> int:
    return sum(1 for c in comparisons if (p := _sentence_p(c)) is not None and p < SIGNIFICANCE_LEVEL)


def write_tables(directory: str | Path) -> dict:
    """Aggregate the sweep in `directory` and write table1.md, table2.md, the plots and results.json there."""
    directory = Path(directory)
    document = aggregate(directory)
    (directory / "table1.md").write_text(table1_markdown(document))
    (directory / "table2.md").write_text(table2_markdown(document))
    document["plots"] = [path.name for path in plot_groups(document, directory)]
    (directory / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    return document


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rewrite the tables, plots and results.json of sweep folders.")
    parser.add_argument("directories", nargs="+", metavar="directory")
    parser.add_argument(
        "--summary",
        metavar="FILE",
        help="instead, write one table of the folders' chosen MTL-LS rates from their results.json (which is all a "
        "published copy of a sweep keeps)",
    )
    args = parser.parse_args(argv)
    if args.summary:
        documents = [json.loads((Path(d) / "results.json").read_text(encoding="utf-8")) for d in args.directories]
        Path(args.summary).write_text(summary_markdown(documents), encoding="utf-8")
    else:
        for directory in args.directories:
            write_tables(directory)


if __name__ == "__main__":
    main()
