"""results.json / results.md laid out like the paper's Tables 1-2, merged across runs writing to one folder."""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path


GROUP_TITLES = {"chemical": "Chemical", "disease": "Disease", "gene": "Gene and protein", "species": "Species"}


def mean_and_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (n - 1) of scores over checkpoints; the sd of a single score is 0."""
    if not values:
        raise ValueError("mean_and_sd needs at least one value")
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def method_name(mode: str, slicing_rate: float | None = None, *, continued: bool = False) -> str:
    """Column name of a run: STL, MTL-XC, MTL-LS <rate>, or STL / MTL-XC continued (more updates on an earlier run:
    the controls that separate slicing from extra training)."""
    if mode == "mtl-ls":
        return f"MTL-LS {slicing_rate:.2f}"
    name = {"stl": "STL", "mtl-xc": "MTL-XC"}[mode]
    return f"{name} continued" if continued else name


def _method_order(name: str) -> tuple:
    if name.startswith("MTL-LS"):
        return (3, float(name.split()[-1]))
    return ({"STL": 0, "STL continued": 1, "MTL-XC": 2}.get(name, 2.5), 0.0)


def _row_info(key: str) -> tuple[int, str, str]:
    """(table position, group, dataset display name) from the registry: the paper rows in table order, then the user
    corpora registered by a corpora file (their group there, their name); other keys go last as their own name."""
    from data_scripts.registry import ROWS, user_corpora

    for position, row in enumerate([*ROWS, *user_corpora()]):
        if row.key == key:
            return position, row.group, row.dataset
    return len(ROWS) + len(user_corpora()), "other", key


def summarise(values: list[dict]) -> dict:
    """Mean P/R/F1 over checkpoints, with the F1 standard deviation and the strict-mode F1."""
    f1, f1_sd = mean_and_sd([v["f1"] for v in values])
    return {
        "precision": mean_and_sd([v["precision"] for v in values])[0],
        "recall": mean_and_sd([v["recall"] for v in values])[0],
        "f1": f1,
        "f1_sd": f1_sd,
        "strict_f1": mean_and_sd([v["strict_f1"] for v in values])[0],
        "n_checkpoints": len(values),
    }


def merge_results(results_dir: str | os.PathLike, method: str, scores: dict[str, dict]) -> dict:
    """Add one method's per-dataset scores to `results_dir/results.json` (replacing that method's previous entry
    for those datasets) and rewrite `results.md`. Returns the merged document."""
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "results.json"
    document = json.loads(path.read_text()) if path.exists() else {"rows": {}}
    for key, row_scores in scores.items():
        _, group, dataset = _row_info(key)
        row = document["rows"].setdefault(key, {"group": group, "dataset": dataset, "results": {}})
        row["results"][method] = row_scores
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (directory / "results.md").write_text(results_markdown(document))
    return document


def results_markdown(document: dict) -> str:
    """P/R/F1 per method (percent; F1 as mean ± sd over the evaluated checkpoints), best F1 of each row in bold."""
    methods = sorted({m for row in document["rows"].values() for m in row["results"]}, key=_method_order)
    header = ["Entity type", "Dataset"] + [f"{m} {metric}" for m in methods for metric in ("P", "R", "F1")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ordered = sorted(document["rows"].items(), key=lambda item: _row_info(item[0])[0])
    previous_group = None
    for _key, row in ordered:
        results = row["results"]
        best = max((results[m]["f1"] for m in methods if m in results), default=None)
        cells = [
            GROUP_TITLES.get(row["group"], row["group"]) if row["group"] != previous_group else "",
            row["dataset"],
        ]
        previous_group = row["group"]
        for method in methods:
            if method not in results:
                cells += ["–", "–", "–"]
                continue
            r = results[method]
            f1 = f"{100 * r['f1']:.2f}"
            if r.get("f1_sd") is not None and r.get("n_checkpoints", 1) > 1:
                f1 += f" ± {100 * r['f1_sd']:.2f}"
            if r["f1"] == best:
                f1 = f"**{f1}**"
            cells += [f"{100 * r['precision']:.2f}", f"{100 * r['recall']:.2f}", f1]
        lines.append("| " + " | ".join(cells) + " |")
    notes = (
        "\nEntity-level scores on the test split (seqeval default mode, conlleval-compatible), in percent; "
        "F1 is the mean ± sd over the evaluated checkpoints, P and R their means. Best F1 per row in bold.\n"
    )
    return "\n".join(lines) + "\n" + notes


__all__ = ["mean_and_sd", "merge_results", "method_name", "results_markdown", "summarise"]
