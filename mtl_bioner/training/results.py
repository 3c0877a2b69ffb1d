"""results.json / results.md laid out like the paper's Tables 1-2, merged across runs writing to one folder."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from ..vocabulary import RESULTS, RowIdentity, format_mean_sd, group_title, mean_sd, method_order, row_identity


def summarise(values: list[dict]) -> dict:
    """Mean P/R/F1 over the scored checkpoints, with the F1 standard deviation (None for one checkpoint) and the
    strict-mode F1."""
    f1 = mean_sd([v["f1"] for v in values])
    return {
        "precision": mean_sd([v["precision"] for v in values])["mean"],
        "recall": mean_sd([v["recall"] for v in values])["mean"],
        "f1": f1["mean"],
        "f1_sd": f1["sd"],
        "strict_f1": mean_sd([v["strict_f1"] for v in values])["mean"],
        "n_checkpoints": len(values),
    }


def merge_results(
    results_dir: str | os.PathLike, method: str, scores: Mapping[str, dict], rows: Mapping[str, RowIdentity]
) -> dict:
    """Add one method's per-dataset scores to `results_dir/results.json` (replacing that method's previous entry
    for those datasets; `rows` says where each dataset goes in the table) and rewrite `results.md`. Returns the
    merged document."""
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RESULTS
    document = json.loads(path.read_text()) if path.exists() else {"rows": {}}
    for key, row_scores in scores.items():
        identity = rows[key]
        row = document["rows"].setdefault(
            key, {"group": identity.group, "dataset": identity.dataset, "position": identity.position, "results": {}}
        )
        row["results"][method] = row_scores
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    (directory / "results.md").write_text(results_markdown(document))
    return document


def results_markdown(document: dict) -> str:
    """P/R/F1 per method in percent, best F1 of each row in bold, and a note on how the checkpoints were chosen."""
    methods = sorted({m for row in document["rows"].values() for m in row["results"]}, key=method_order)
    header = ["Entity type", "Dataset"] + [f"{m} {metric}" for m in methods for metric in ("P", "R", "F1")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ordered = sorted(
        document["rows"].items(), key=lambda item: item[1].get("position", row_identity(item[0]).position)
    )
    previous_group = None
    for _key, row in ordered:
        results = row["results"]
        best = max((results[m]["f1"] for m in methods if m in results), default=None)
        cells = [group_title(row["group"]) if row["group"] != previous_group else "", row["dataset"]]
        previous_group = row["group"]
        for method in methods:
            if method not in results:
                cells += ["–", "–", "–"]
                continue
            r = results[method]
            f1 = format_mean_sd({"mean": r["f1"], "sd": r.get("f1_sd") if r.get("n_checkpoints", 1) > 1 else None})
            cells += [
                f"{100 * r['precision']:.2f}",
                f"{100 * r['recall']:.2f}",
                f"**{f1}**" if r["f1"] == best else f1,
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n" + _notes(document)


def _notes(document: dict) -> str:
    """Say how the scores were chosen: a mean over the paper's last checkpoints, or each dataset's best on validation."""
    results = [r for row in document["rows"].values() for r in row["results"].values()]
    if results and all("selected" in r for r in results):
        selection = (
            "each dataset is scored at its own best validation checkpoint (its epoch is `selected` in results.json)"
        )
    else:
        selection = "F1 is the mean ± sd over the evaluated checkpoints, P and R their means"
    return (
        "\nEntity-level scores on the test split (seqeval default mode, conlleval-compatible), in percent; "
        f"{selection}. Best F1 per row in bold.\n"
    )


__all__ = ["merge_results", "results_markdown", "summarise"]
