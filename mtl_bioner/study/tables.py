"""Tables 1-2 of the paper from a sweep folder: mean ± sd over seeds, best slicing rates, significance and plots.

Reads a sweep folder through `aggregate` (DIR/sweep.json, each run's results.json and predictions/<dataset>.jsonl);
writes DIR/table1.md, DIR/table2.md, DIR/f1_vs_slicing_rate_<group>.png and DIR/results.json.

Paper rows come first, in the paper's order, with the paper's values in parentheses. The datasets of a sweep over a
corpora file (`--corpora`) that are not paper rows follow in the sweep's order, under their own name, without paper
values, and in the group the sweep named (`--group`, a group of that file) or, swept by --datasets, in the group
"other" (the corpora file's name for corpora outside any group). The tables need only the sweep folder, not the file.

    python -m mtl_bioner.study.tables runs/disease
    python -m mtl_bioner.study.tables --summary summary.md runs/disease-equal runs/disease-paper  # one table of both
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

from ..vocabulary import BASELINES, group_title, mtl_ls_label, read_json, row_identity
from .aggregate import BOOTSTRAP_TEST, SEED_TEST, SENTENCE_TEST, aggregate


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
    ordered, previous = [], None
    rows = sorted(document["rows"].items(), key=lambda item: item[1].get("position", row_identity(item[0]).position))
    for key, row in rows:
        ordered.append((key, row, group_title(row["group"]) if row["group"] != previous else ""))
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


_TESTS_NOTE = (
    f"Primary: {BOOTSTRAP_TEST}, on entity F1 of the reported models' test predictions; it counts both the spread "
    f"between seeds and the sampling of test sentences. Secondary: {SENTENCE_TEST} (the seeds' entity counts pooled "
    f"per sentence: conditional on the trained models) and {SEED_TEST} on the table's per-seed F1."
)


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
        f"Entity-level scores on the test split (seqeval default mode), mean ± sd over seeds of {_scored_at(document)}; "
        "best F1 per row in bold. In parentheses: the paper's value (Table 1, same row).",
        _steps_note(document, labels),
        "",
        "## Significance of MTL-XC against STL",
        "",
        _TESTS_NOTE,
        "",
        "| Dataset | ΔF1 (mean over seeds) | 95 % interval | p | p (Holm) | p (sentences) | p (seeds) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, row, _group in _ordered_rows(document):
        if row.get("mtl_xc_vs_stl"):
            lines.append("| " + " | ".join([f"{row['dataset']} ({key})", *_test_cells(row["mtl_xc_vs_stl"])]) + " |")
    return "\n".join(lines) + "\n"


def _test_cells(comparison: dict) -> list[str]:
    """ΔF1, the bootstrap's interval, p and Holm-adjusted p, and the secondary tests' p, of one comparison."""
    bootstrap = comparison.get("bootstrap")
    return [
        f"{100 * comparison['delta_f1']:+.2f}",
        _missing(comparison["missing_seeds"]) if comparison.get("missing_seeds") else _interval(bootstrap),
        _p_value(bootstrap),
        _p_value(bootstrap, "p_holm"),
        _p_value(comparison["sentences"]),
        _p_value(comparison["seeds_test"]),
    ]


def _missing(seeds: Sequence[int]) -> str:
    """The seeds without the predictions (or sentence counts) that the tests over sentences need."""
    return f"n/a (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}: no predictions)"


def _p_value(result: dict | None, key: str = "p_value") -> str:
    return "n/a" if result is None or result.get(key) is None else f"{result[key]:.4f}"


def _interval(result: dict | None) -> str:
    return "n/a" if result is None else f"[{100 * result['ci_low']:+.2f}, {100 * result['ci_high']:+.2f}]"


def _scored_at(document: dict) -> str:
    """What a run's score is, from the flags its runs got."""
    if "--best_on_validation" in document["protocol"]["passthrough"]:
        return "each dataset's best validation checkpoint"
    return "each run's last-N-checkpoint mean"


def table2_markdown(document: dict) -> str:
    rates = document["protocol"]["rates"]
    ls_labels = [mtl_ls_label(rate) for rate in rates]
    present = {label for row in document["rows"].values() for label in row["methods"]}
    labels = [label for label in BASELINES if label in present]
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
        f"F1 on the test split (seqeval default mode), mean ± sd over seeds of {_scored_at(document)}; best per row in "
        "bold. In parentheses: the paper's value (Table 2, same row and column). The paper picked the best rate on "
        "test; the last column picks it on validation F1 and reports that rate's test F1.",
        _steps_note(document, labels),
        "",
        "## Significance of the chosen MTL-LS rate",
        "",
        f"{_TESTS_NOTE} The rate is the one chosen on validation (on test when validation scores are absent).",
        "",
        "| Dataset | Rate (chosen on) | vs | ΔF1 (mean over seeds) | 95 % interval | p | p (Holm) | p (sentences) "
        "| p (seeds) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, row, _group in _ordered_rows(document):
        significance = row["significance"]
        for comparison in significance.get("comparisons", []):
            cells = [
                f"{row['dataset']} ({key})",
                f"{significance['rate']:.2f} ({significance['chosen_on']})",
                comparison["against"],
                *_test_cells(comparison),
            ]
            lines.append("| " + " | ".join(cells) + " |")
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
            points = [(r, methods.get(mtl_ls_label(r))) for r in rates]
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
            paper_points = [(r, paper.get(mtl_ls_label(r))) for r in rates]
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


def _reported_p(comparison: dict) -> float | None:
    """The Holm-adjusted bootstrap p where the sweep has one, else (tables of earlier versions) the test over
    sentences."""
    if comparison.get("bootstrap"):
        return comparison["bootstrap"]["p_holm"]
    return (comparison.get("sentences") or {}).get("p_value")


def _p_name(documents: Sequence[dict]) -> str:
    kinds = {
        "bootstrap" if c.get("bootstrap") else "sentences"
        for d in documents
        for r in d["rows"].values()
        for c in r["significance"].get("comparisons", [])
    }
    names = {"bootstrap": f"{BOOTSTRAP_TEST}", "sentences": f"{SENTENCE_TEST} (sweeps without the bootstrap)"}
    return "; ".join(names[kind] for kind in sorted(kinds))


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
                p_value = _reported_p(comparison)
                cells.append(
                    f"{100 * comparison['delta_f1']:+.2f}" + ("" if p_value is None else f" (p {p_value:.4f})")
                )
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"ΔF1 in F1 points, mean over seeds; p: {_p_name(documents)}.", ""]
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
    return sum(1 for c in comparisons if (p := _reported_p(c)) is not None and p < SIGNIFICANCE_LEVEL)


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
        documents = [read_json(Path(d) / "results.json", "results of a sweep's tables") for d in args.directories]
        Path(args.summary).write_text(summary_markdown(documents), encoding="utf-8")
    else:
        for directory in args.directories:
            write_tables(directory)


if __name__ == "__main__":
    main()
