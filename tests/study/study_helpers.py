"""Helpers of the study tests: a sweep's plan from flags, and a stand-in for the training command that writes what
a finished run writes, with scores that depend on method, seed and dataset."""

import json
from pathlib import Path

from mtl_bioner.study import plan as sweep_plan
from mtl_bioner.study import sweep
from mtl_bioner.vocabulary import method_name


TASKS = ["BC5CDR-disease", "NCBI-disease"]


def plan(tmp_path, *extra, rates="0.5,1.0", seeds="2"):
    options, passthrough = sweep.parse_arguments(
        ["--datasets", ",".join(TASKS), "--rates", rates, "--seeds", seeds, "--output_dir", str(tmp_path), *extra]
    )
    return options, passthrough, sweep_plan.plan_sweep(options, passthrough)


def flag(run, name):
    return run.argv[run.argv.index(name) + 1] if name in run.argv else None


SCORES = {
    "STL": 0.80,
    "STL continued": 0.82,
    "MTL-XC": 0.78,
    "MTL-LS 0.50": 0.83,
    "MTL-LS 1.00": 0.79,
    "MTL-XC continued": 0.81,
}


def fake_run(argv):
    values = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
    mode, folder, seed = values["--mode"], Path(values["--output_dir"]), int(values["--seed"])
    if mode == "mtl-ls":
        method = f"MTL-LS {float(values['--slicing_rate']):.2f}"
    else:
        method = method_name(mode, continued="--continue_from" in values)
    datasets = values["--datasets"].split(",")
    rows = {}
    for index, dataset in enumerate(datasets):
        f1 = SCORES[method] + 0.01 * (seed - 42) + 0.001 * index
        own = values.get("--max_steps")
        steps = {"train_steps": int(own), "total_steps": int(own)} if own else {}
        rows[dataset] = {
            "results": {
                method: {
                    **steps,
                    "precision": f1,
                    "recall": f1,
                    "f1": f1,
                    "f1_sd": 0.0,
                    "strict_f1": f1,
                    "n_checkpoints": 2,
                    "validation": {"precision": f1, "recall": f1, "f1": 1 - f1, "f1_sd": 0.0},
                }
            }
        }
        write_predictions(folder / "predictions" / f"{dataset}.jsonl", correct=round(100 * f1) - 75)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps({"rows": rows}))
    return {"rows": rows}


def write_predictions(path, correct, total=10):
    """`total` one-entity sentences of which the first `correct` are predicted exactly, the rest missed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(total):
        gold = ["B-Disease", "I-Disease", "O"]
        pred = gold if index < correct else ["O", "O", "O"]
        lines.append(json.dumps({"tokens": ["a", "b", "."], "gold": gold, "pred": pred}))
    path.write_text("\n".join(lines) + "\n")


def write_corpora_file(folder, name="corpora.yaml"):
    """Two tiny user corpora and a group listing them around a paper row (the group's order is the sweep's)."""
    notes = folder / "notes"
    notes.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        (notes / f"{split}.tsv").write_text("lung\tB-Disease\ncancer\tI-Disease\n.\tO\n")
    path = folder / name
    path.write_text(
        "corpora:\n"
        "  my-notes: {files: {train: notes/train.tsv, test: notes/test.tsv}}\n"
        "  your-notes: {files: {train: notes/train.tsv, test: notes/test.tsv}}\n"
        "groups:\n"
        "  my-group: [your-notes, NCBI-disease, my-notes]\n"
    )
    return path
