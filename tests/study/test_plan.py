"""The plan of a sweep: every run in dependency order, equal-compute budgets in updates and epochs, the controls."""

import pytest
from study_helpers import flag, plan

from mtl_bioner.study import plan as sweep_plan
from mtl_bioner.vocabulary import MTL_XC_START


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
    assert {run.total_updates for run in runs if run.label != MTL_XC_START} == {10}
    assert by_name["mtl-xc-start"].label == MTL_XC_START and by_name["mtl-xc-start"].method == "MTL-XC"
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


def test_execution_order_moves_a_run_after_what_it_depends_on():
    def run(name, after=()):
        return sweep_plan.PlannedRun(name, name, "stl", "STL", "STL", 0, 0, ("A",), None, (), tuple(after))

    ordered = sweep_plan.execution_order([run("ls", ["xc"]), run("stl"), run("xc")])
    assert [r.name for r in ordered] == ["stl", "xc", "ls"]
    with pytest.raises(ValueError, match="circular"):
        sweep_plan.execution_order([run("a", ["b"]), run("b", ["a"])])
    with pytest.raises(ValueError, match="not planned"):
        sweep_plan.execution_order([run("a", ["missing"])])
