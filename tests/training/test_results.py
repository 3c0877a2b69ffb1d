"""Results tables: mean and sd over checkpoints, merging runs into results.json / results.md."""

import json

import pytest

from mtl_bioner.training.results import merge_results
from mtl_bioner.vocabulary import row_identity


def scores(f1, precision=0.5, recall=0.25, sd=None, n=1):
    return {"precision": precision, "recall": recall, "f1": f1, "f1_sd": sd, "n_checkpoints": n}


def merge(folder, method, scores_by_dataset):
    return merge_results(folder, method, scores_by_dataset, {key: row_identity(key) for key in scores_by_dataset})


def test_merging_runs_into_one_table(tmp_path):
    merge(tmp_path, "STL", {"NCBI-disease": scores(0.8), "BC5CDR-disease": scores(0.7)})
    merge(tmp_path, "MTL-LS 0.50", {"NCBI-disease": scores(0.85, sd=0.01, n=5)})
    document = merge(tmp_path, "STL", {"NCBI-disease": scores(0.75)})  # a rerun replaces its entry
    assert json.loads((tmp_path / "results.json").read_text()) == document
    ncbi = document["rows"]["NCBI-disease"]
    assert ncbi["group"] == "disease" and set(ncbi["results"]) == {"STL", "MTL-LS 0.50"}
    assert ncbi["results"]["STL"]["f1"] == 0.75
    table = (tmp_path / "results.md").read_text().splitlines()
    assert table[0] == (
        "| Entity type | Dataset | STL P | STL R | STL F1 | MTL-LS 0.50 P | MTL-LS 0.50 R | MTL-LS 0.50 F1 |"
    )
    rows = {line.split(" | ")[1]: line for line in table[2:4]}
    assert rows["NCBI-disease"].endswith("| 50.00 | 25.00 | 75.00 | 50.00 | 25.00 | **85.00 ± 1.00** |")
    assert rows["BC5CDR"].endswith("| **70.00** | – | – | – |")
    assert table[2].startswith("| Disease |") and table[3].startswith("|  |")  # the group is named once
    assert "mean ± sd over the evaluated checkpoints" in table[-1]


def test_the_note_says_when_each_dataset_was_scored_at_its_best_validation_checkpoint(tmp_path):
    selected = {"epoch": 6.0, "step": 1884, "validation_f1": 0.81}
    document = merge(tmp_path, "MTL-XC", {"NCBI-disease": {**scores(0.8), "selected": selected}})
    assert "its own best validation checkpoint" in (tmp_path / "results.md").read_text()
    assert document["rows"]["NCBI-disease"]["results"]["MTL-XC"]["selected"] == selected


def test_summarise_checkpoint_scores():
    from mtl_bioner.training.results import summarise

    values = [
        {"precision": 0.5, "recall": 0.7, "f1": 0.6, "strict_f1": 0.5},
        {"precision": 0.7, "recall": 0.9, "f1": 0.8, "strict_f1": 0.7},
    ]
    summary = summarise(values)
    assert summary["precision"] == pytest.approx(0.6) and summary["recall"] == pytest.approx(0.8)
    assert summary["f1"] == pytest.approx(0.7) and summary["f1_sd"] == pytest.approx(0.1414213, rel=1e-5)
    assert summary["strict_f1"] == pytest.approx(0.6) and summary["n_checkpoints"] == 2
    assert summarise(values[:1])["f1_sd"] is None  # one checkpoint: nothing varied
