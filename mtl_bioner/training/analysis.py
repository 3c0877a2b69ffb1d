# Copyright 2026 The xlnet-crf-mtl authors.
# Licensed under the Apache License, Version 2.0.
"""Entity-set diagnostics from the Discussion of Chai et al. (2022).

The paper explains F1 differences between datasets by comparing three sets of entity *strings*:

- ``T``: entities in the training data the model saw (for multi-task training, the union over the group);
- ``L``: gold entities of the test set ("Labels");
- ``P``: entities the model predicted on the test set ("Logits").

Fig. 3 draws them as an Euler diagram, Fig. 4 as a radar chart of five ratios (:func:`entity_set_ratios`).
:func:`analyze_run` does both for a finished training run folder; :func:`gold_only_analysis` reports the
train/test overlap before any training.

Run ``python -m mtl_bioner.training.analysis RUN_DIR`` or ``python -m mtl_bioner.training.analysis --gold-only
--rows A,B``. A run
trained on a corpora file (``--corpora``) is analysed through that file, as are ``--gold-only --corpora FILE`` rows.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Circle

from data_scripts.schemes import entity_spans

from ..vocabulary import RunConfig, predictions_path, read_predictions


__all__ = [
    "RATIO_NAMES",
    "EULER_REGIONS",
    "entities_from_iob",
    "normalize_entity",
    "entity_set",
    "entity_set_ratios",
    "euler_counts",
    "plot_radar",
    "plot_euler",
    "analyze_run",
    "gold_only_analysis",
    "main",
]

Entity = str | tuple[str, str]
"""A surface string, or ``(type, surface)`` when entities are typed."""
Sentence = tuple[Sequence[str], Sequence[str]]
"""``(tokens, IOB2 tag strings)`` of one sentence."""
SentenceLoader = Callable[[str], list[Sentence]]
"""Row key -> sentences of one split of that row."""

RATIO_NAMES = ("generalization", "coverage", "forgetting", "inherited_errors", "over_prediction")
RATIO_FORMULAS = {
    "generalization": "|(L∖T)∩P| / |L∖T|",
    "coverage": "|T∩L| / |L|",
    "forgetting": "|(T∩L)∖P| / |T∩L|",
    "inherited_errors": "|(P∖L)∩T| / |P∖L|",
    "over_prediction": "(|P|−|L|) / |L|",
}
EULER_REGIONS = ("T_only", "L_only", "P_only", "TL_only", "TP_only", "LP_only", "TLP")
NOT_AVAILABLE = "n/a"


# ----------------------------------------------------------------------------------------------------------------
# Entity sets
# ----------------------------------------------------------------------------------------------------------------


def entities_from_iob(tokens: Sequence[str], tags: Sequence[str], *, typed: bool = False) -> list[Entity]:
    """Mentions in one sentence of word-level tags, in order of appearance, duplicates kept.

    Spans are read by `data_scripts.schemes.entity_spans`, seqeval's default (conlleval) rule, so malformed model
    output is counted the way the scores count it: `I-X` after `O` or after another type opens a mention, `B-X I-Y`
    is two mentions, IOB1/BIOES/BILOU tags read as such, bare `B`/`I` have the type `""`, and a label that is not a
    tag (e.g. `Gene`) raises. The surface string is the mention's tokens joined by single spaces.

    Returns surface strings, or ``(type, surface)`` tuples when ``typed``.
    """
    if len(tokens) != len(tags):
        raise ValueError(f"{len(tokens)} tokens but {len(tags)} tags")
    mentions = [(entity_type, " ".join(tokens[start:end])) for entity_type, start, end in entity_spans(tags)]
    return mentions if typed else [surface for _, surface in mentions]


def normalize_entity(s: str, *, casefold: bool = False, collapse_whitespace: bool = True) -> str:
    """Canonical form of a surface string, so that the same entity from different sources compares equal."""
    if collapse_whitespace:
        s = " ".join(s.split())
    if casefold:
        s = s.casefold()
    return s


def entity_set(
    sentences: Iterable[Sentence],
    *,
    typed: bool = False,
    casefold: bool = False,
    collapse_whitespace: bool = True,
) -> set[Entity]:
    """Distinct normalized entities of a corpus split: the paper counts entity *types*, not mentions."""
    entities: set[Entity] = set()
    for tokens, tags in sentences:
        for entity_type, surface in entities_from_iob(tokens, tags, typed=True):
            surface = normalize_entity(surface, casefold=casefold, collapse_whitespace=collapse_whitespace)
            entities.add((entity_type, surface) if typed else surface)
    return entities


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def entity_set_ratios(T: set, L: set, P: set) -> dict[str, float | None]:
    """The five ratios of the paper's Fig. 4 (A-E), as fractions.

    - ``generalization`` (A) = |(L∖T)∩P| / |L∖T|: unseen test entities that were still found.
    - ``coverage`` (B) = |T∩L| / |L|: test entities the training data already contains.
    - ``forgetting`` (C) = |(T∩L)∖P| / |T∩L|: seen test entities the model nevertheless missed.
    - ``inherited_errors`` (D) = |(P∖L)∩T| / |P∖L|: false positives that are entities in the training data,
      i.e. annotation disagreements between training and test data rather than model mistakes.
    - ``over_prediction`` (E) = (|P|−|L|) / |L|: negative when the model predicts fewer distinct entities.

    A ratio whose denominator set is empty is ``None`` (JSON ``null``, shown as "n/a"): it is undefined, and
    neither 0 nor an exception would be truthful (e.g. forgetting with no seen test entity).
    """
    seen = T & L
    unseen = L - T
    false_positives = P - L
    return {
        "generalization": _ratio(len(unseen & P), len(unseen)),
        "coverage": _ratio(len(seen), len(L)),
        "forgetting": _ratio(len(seen - P), len(seen)),
        "inherited_errors": _ratio(len(false_positives & T), len(false_positives)),
        "over_prediction": _ratio(len(P) - len(L), len(L)),
    }


def euler_counts(T: set, L: set, P: set) -> dict[str, int]:
    """Sizes of the seven disjoint regions of the T/L/P diagram (Fig. 3); they sum to |T∪L∪P|."""
    return {
        "T_only": len(T - L - P),
        "L_only": len(L - T - P),
        "P_only": len(P - T - L),
        "TL_only": len((T & L) - P),
        "TP_only": len((T & P) - L),
        "LP_only": len((L & P) - T),
        "TLP": len(T & L & P),
    }


# ----------------------------------------------------------------------------------------------------------------
# Plots
# ----------------------------------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{100 * value:.2f}"


def plot_radar(ratios_by_dataset: Mapping[str, Mapping[str, float | None]], path: str | Path) -> Path:
    """Radar chart of the five ratios (Fig. 4), one polygon per dataset, values in percent.

    The radial axis runs from ``min(0, smallest value)`` (rounded down to a multiple of 10) at the centre to
    ``max(100, largest value)``, so a negative ``over_prediction`` still has a point; a dashed circle marks 0
    when the origin is negative. An undefined (``None``) ratio leaves a gap in its polygon and is listed as
    "n/a" in the legend.
    """
    values = {
        name: [None if ratios.get(key) is None else 100 * ratios[key] for key in RATIO_NAMES]
        for name, ratios in ratios_by_dataset.items()
    }
    defined = [v for row in values.values() for v in row if v is not None]
    r_min = min(0.0, 10 * math.floor(min(defined, default=0.0) / 10))
    r_max = max(100.0, 10 * math.ceil(max(defined, default=0.0) / 10))
    angles = [2 * math.pi * i / len(RATIO_NAMES) for i in range(len(RATIO_NAMES))]

    fig = Figure(figsize=(7.5, 6.5), dpi=100)
    ax = fig.add_subplot(projection="polar")
    ax.set_theta_offset(math.pi / 2)
    ax.set_theta_direction(-1)
    ax.set_ylim(r_min, r_max)
    ax.set_xticks(angles)
    ax.set_xticklabels(
        [f"{chr(ord('A') + i)} {key.replace('_', ' ')}\n{RATIO_FORMULAS[key]}" for i, key in enumerate(RATIO_NAMES)],
        fontsize=8,
    )
    ax.tick_params(axis="x", pad=14)
    ax.set_rlabel_position(180 / len(RATIO_NAMES))  # between the first two axes, clear of the polygons' labels
    if r_min < 0:
        ax.plot([2 * math.pi * i / 100 for i in range(101)], [0.0] * 101, linestyle="--", color="grey", linewidth=0.8)
    for name, row in values.items():
        closed = row + row[:1]
        radii = [math.nan if v is None else v for v in closed]
        missing = [key for key, v in zip(RATIO_NAMES, row) if v is None]
        label = name + (f" ({NOT_AVAILABLE}: {', '.join(missing)})" if missing else "")
        (line,) = ax.plot(angles + angles[:1], radii, marker="o", markersize=3, linewidth=1.5, label=label)
        if not missing:
            ax.fill(angles, row, alpha=0.08, color=line.get_color())
    ax.set_title("Entity-set ratios (%)", pad=20)
    ax.legend(loc="upper right", bbox_to_anchor=(1.35, 1.12), fontsize=8)
    path = Path(path)
    fig.savefig(path, bbox_inches="tight")
    return path


# Venn layout (not area-proportional: real |T| dwarfs |L| and |P|): unit circles and a label spot per region.
_CIRCLES = {"T": (-0.55, 0.35), "L": (0.55, 0.35), "P": (0.0, -0.6)}
_CIRCLE_NAMES = {"T": "T (training)", "L": "L (test labels)", "P": "P (predictions)"}
_REGION_SPOTS = {
    "T_only": (-1.0, 0.7),
    "L_only": (1.0, 0.7),
    "P_only": (0.0, -1.15),
    "TL_only": (0.0, 0.85),
    "TP_only": (-0.65, -0.4),
    "LP_only": (0.65, -0.4),
    "TLP": (0.0, 0.0),
}


def plot_euler(counts: Mapping[str, int], path: str | Path, title: str) -> Path:
    """Three-circle diagram of T, L, P (Fig. 3) with each region's count and share of |T∪L∪P|.

    The circles have equal size; only the written numbers carry the sizes.
    """
    total = sum(counts[region] for region in EULER_REGIONS)
    fig = Figure(figsize=(6, 6), dpi=100)
    ax = fig.add_subplot()
    for (name, centre), color in zip(_CIRCLES.items(), ("tab:blue", "tab:orange", "tab:green")):
        ax.add_patch(Circle(centre, 1.0, facecolor=color, edgecolor=color, alpha=0.3, linewidth=2))
        x, y = centre
        ax.text(x * 1.9, y + (1.15 if y > 0 else -0.95), _CIRCLE_NAMES[name], ha="center", fontsize=11, color=color)
    for region in EULER_REGIONS:
        share = f"{100 * counts[region] / total:.2f}%" if total else NOT_AVAILABLE
        ax.text(*_REGION_SPOTS[region], f"{counts[region]}\n{share}", ha="center", va="center", fontsize=9)
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.9, 1.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{title}\n|T∪L∪P| = {total}")
    path = Path(path)
    fig.savefig(path, bbox_inches="tight")
    return path


# ----------------------------------------------------------------------------------------------------------------
# Run folders
# ----------------------------------------------------------------------------------------------------------------


def _split_loader(split: str, data_dir: str | None, corpora: str | None = None) -> SentenceLoader:
    """Loader of one split: through the corpora file ``corpora`` (a run trained with ``--corpora``: its own corpora
    and paper rows, read as training read them), else through ``data_scripts.registry`` (paper rows only). Both are
    imported only when real corpora are needed; the corpora file is checked here, before any row is loaded."""
    corpora_file = None
    if corpora:
        from data_scripts.corpora import read_corpora_file

        corpora_file = read_corpora_file(corpora)

    def load(key: str) -> list[Sentence]:
        if corpora_file is None:
            from data_scripts.registry import load_row

            ds = load_row(key, data_dir=data_dir, splits=[split])[split]
        else:
            corpus = corpora_file.load([key], data_dir)[key]
            if split not in corpus:
                raise ValueError(f"{corpora}: corpus {key!r} has no {split} split (it has {', '.join(corpus)})")
            ds = corpus[split]
        names = ds.features["ner_tags"].feature.names
        return [(tokens, [names[i] for i in ids]) for tokens, ids in zip(ds["tokens"], ds["ner_tags"])]

    return load


def _read_predictions(path: Path) -> tuple[list[Sentence], list[Sentence]]:
    tokens, gold, predicted = read_predictions(path)
    return list(zip(tokens, gold)), list(zip(tokens, predicted))


class _TrainingSets:
    """Union of training entity sets over several rows, loading each row once per analysis."""

    def __init__(self, loader: SentenceLoader, **set_options):
        self.loader = loader
        self.set_options = set_options
        self._cache: dict[str, set[Entity]] = {}

    def __call__(self, keys: Iterable[str]) -> set[Entity]:
        union: set[Entity] = set()
        for key in keys:
            if key not in self._cache:
                self._cache[key] = entity_set(self.loader(key), **self.set_options)
            union |= self._cache[key]
        return union


def _markdown_table(rows: Mapping[str, Mapping], header: str) -> str:
    columns = ["dataset", "trained on", "#T", "#L", "#P"] + [f"{key.replace('_', ' ')} (%)" for key in RATIO_NAMES]
    lines = [header, "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name, row in rows.items():
        cells = [name, ", ".join(row["train_sets"])] + [str(row["sizes"][s]) for s in "TLP"]
        cells += [_percent(row["ratios"][key]) for key in RATIO_NAMES]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Ratios: " + "; ".join(f"{k.replace('_', ' ')} = {v}" for k, v in RATIO_FORMULAS.items()) + "."]
    lines.append(f"{NOT_AVAILABLE} = undefined (empty denominator).")
    return "\n".join(lines) + "\n"


def analyze_run(
    run_dir: str | Path,
    *,
    casefold: bool = False,
    typed: bool = False,
    train_loader: SentenceLoader | None = None,
) -> dict:
    """Entity-set diagnostics of a finished run, written next to its predictions.

    Reads ``run_config.json`` and ``predictions/<row>.jsonl``; per dataset, T is the union of the training
    splits of ``train_sets[row]`` (what that row's model saw), L the gold and P the predicted test entities.
    Writes ``analysis.json``, ``analysis.md``, ``radar.png`` and ``euler_<row>.png`` into ``run_dir``.

    Args:
        casefold: compare entities case-insensitively.
        typed: compare ``(type, surface)`` pairs instead of surface strings.
        train_loader: row key -> training sentences ``(tokens, tag strings)``; defaults to the train split read
            with the run's ``data_dir`` through its corpora file (``corpora`` in run_config.json, a run trained with
            ``--corpora``), else through ``data_scripts.registry.load_row``.
    """
    run_dir = Path(run_dir)
    config = RunConfig.read(run_dir)
    options = {"casefold": casefold, "typed": typed, "collapse_whitespace": True}
    training_sets = _TrainingSets(train_loader or _split_loader("train", config.data_dir, config.corpora), **options)

    datasets = {}
    for key in config.datasets:
        prediction_file = predictions_path(run_dir, key)
        if not prediction_file.is_file():
            raise FileNotFoundError(f"No predictions for {key}: {prediction_file}")
        gold, pred = _read_predictions(prediction_file)
        train_keys = list(config.train_sets.get(key) or [key])
        T, L, P = training_sets(train_keys), entity_set(gold, **options), entity_set(pred, **options)
        datasets[key] = {
            "train_sets": train_keys,
            "sizes": {"T": len(T), "L": len(L), "P": len(P)},
            "ratios": entity_set_ratios(T, L, P),
            "euler": euler_counts(T, L, P),
        }

    result = {
        "mode": config.mode,
        "slicing_rate": config.slicing_rate,
        "options": options,
        "datasets": datasets,
    }
    (run_dir / "analysis.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    header = (
        f"# Entity-set analysis: {run_dir.name}\n\n"
        f"mode: {result['mode']}, slicing rate: {result['slicing_rate']}, options: {options}"
    )
    (run_dir / "analysis.md").write_text(_markdown_table(datasets, header), encoding="utf-8")
    plot_radar({key: row["ratios"] for key, row in datasets.items()}, run_dir / "radar.png")
    for key, row in datasets.items():
        plot_euler(row["euler"], run_dir / f"euler_{key}.png", title=key)
    return result


def gold_only_analysis(
    row_keys: Sequence[str],
    *,
    train_sets: Mapping[str, Sequence[str]] | None = None,
    data_dir: str | None = None,
    corpora: str | None = None,
    train_loader: SentenceLoader | None = None,
    test_loader: SentenceLoader | None = None,
    output_dir: str | Path | None = None,
    casefold: bool = False,
    typed: bool = False,
) -> dict:
    """Train/test entity overlap before any training: how much of each test set a model could have memorised.

    ``train_sets`` maps a row to the rows whose training splits count as T (default: the row itself, i.e.
    single-task). With ``corpora`` (a corpora file) the keys may also be its corpora, read through it. Writes
    ``gold_only.json`` and ``gold_only.md`` only when ``output_dir`` is given.
    """
    options = {"casefold": casefold, "typed": typed, "collapse_whitespace": True}
    training_sets = _TrainingSets(train_loader or _split_loader("train", data_dir, corpora), **options)
    test_loader = test_loader or _split_loader("test", data_dir, corpora)
    train_sets = train_sets or {}

    datasets = {}
    for key in row_keys:
        train_keys = list(train_sets.get(key, [key]))
        T, L = training_sets(train_keys), entity_set(test_loader(key), **options)
        datasets[key] = {
            "train_sets": train_keys,
            "sizes": {"T": len(T), "L": len(L), "T_and_L": len(T & L), "L_minus_T": len(L - T)},
            "coverage": _ratio(len(T & L), len(L)),
        }
    result = {"options": options, "datasets": datasets}

    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "gold_only.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (output_dir / "gold_only.md").write_text(_gold_only_markdown(result), encoding="utf-8")
    return result


def _gold_only_markdown(result: Mapping) -> str:
    lines = [
        f"# Train/test entity overlap (options: {result['options']})",
        "",
        "| dataset | trained on | #T | #L | #(T∩L) | #(L∖T) | coverage (%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, row in result["datasets"].items():
        sizes = row["sizes"]
        counts = [str(sizes[s]) for s in ("T", "L", "T_and_L", "L_minus_T")]
        cells = [key, ", ".join(row["train_sets"]), *counts, _percent(row["coverage"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"coverage = |T∩L| / |L|; {NOT_AVAILABLE} = undefined (empty test entity set)."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mtl_bioner.training.analysis",
        description="Entity-set diagnostics (T = training, L = test labels, P = predictions) of Chai et al. (2022).",
    )
    parser.add_argument("run_dir", nargs="?", help="training run folder with run_config.json and predictions/")
    parser.add_argument("--casefold", action="store_true", help="compare entities case-insensitively")
    parser.add_argument("--typed", action="store_true", help="compare (type, surface) pairs")
    parser.add_argument("--gold-only", action="store_true", help="train/test overlap only, no run folder needed")
    parser.add_argument("--rows", help="comma-separated row keys (or corpora of --corpora's file) for --gold-only")
    parser.add_argument(
        "--corpora", help="with --gold-only: corpora file (data_scripts/corpora.py) whose corpora --rows may name"
    )
    parser.add_argument(
        "--union", action="store_true", help="with --gold-only: T is the union of all rows' training sets (MTL)"
    )
    parser.add_argument("--data_dir", help="corpus folder for --gold-only (default: the registry's)")
    parser.add_argument("--output_dir", help="with --gold-only: write gold_only.json and gold_only.md here")
    args = parser.parse_args(argv)

    if args.gold_only:
        if not args.rows:
            parser.error("--gold-only needs --rows")
        rows = [row.strip() for row in args.rows.split(",") if row.strip()]
        result = gold_only_analysis(
            rows,
            train_sets={row: rows for row in rows} if args.union else None,
            data_dir=args.data_dir,
            corpora=args.corpora,
            output_dir=args.output_dir,
            casefold=args.casefold,
            typed=args.typed,
        )
        print(_gold_only_markdown(result), end="")
    else:
        if args.run_dir is None:
            parser.error("give RUN_DIR, or --gold-only --rows ...")
        if args.corpora:
            parser.error("--corpora applies to --gold-only; a run folder's run_config.json names its corpora file")
        analyze_run(args.run_dir, casefold=args.casefold, typed=args.typed)
        print((Path(args.run_dir) / "analysis.md").read_text(encoding="utf-8"), end="")


if __name__ == "__main__":
    main()
