"""The shared vocabulary: method labels, mean ± sd, table rows, the run files (run_config.json, predictions)."""

import json

import pytest

from mtl_bioner.vocabulary import (
    RunConfig,
    format_mean_sd,
    mean_sd,
    method_name,
    method_order,
    read_predictions,
    row_identity,
    write_predictions,
)


TOKENS = [["Naloxone", "reverses", "hypertension"], ["."]]
GOLD = [["O", "O", "B-Disease"], ["O"]]
PREDICTED = [["O", "B-Disease", "I-Disease"], ["O"]]


def test_round_trip(tmp_path):
    path = tmp_path / "predictions" / "NCBI-disease.jsonl"
    write_predictions(path, TOKENS, GOLD, PREDICTED)
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"tokens": TOKENS[0], "gold": GOLD[0], "pred": PREDICTED[0]}
    assert read_predictions(path) == (TOKENS, GOLD, PREDICTED)


def test_mismatched_sentences_are_refused_on_write(tmp_path):
    with pytest.raises(ValueError, match="2 token sentences, 2 gold and 1 predicted"):
        write_predictions(tmp_path / "p.jsonl", TOKENS, GOLD, PREDICTED[:1])
    with pytest.raises(ValueError, match="sentence 1: 1 tokens, 2 gold"):
        write_predictions(tmp_path / "p.jsonl", TOKENS, [GOLD[0], ["O", "O"]], PREDICTED)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"p.jsonl:2: not a JSON object"),
        ('{"tokens": ["a"], "gold": ["O"]}', r"p.jsonl:2: missing \['pred'\]"),
        ('{"tokens": ["a"], "gold": ["O"], "pred": []}', "p.jsonl:2: tokens, gold and pred differ in length"),
    ],
)
def test_bad_lines_are_named_by_file_and_line(tmp_path, line, message):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"tokens": ["a"], "gold": ["O"], "pred": ["O"]}) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=message):
        read_predictions(path)


def test_mean_and_sample_sd():
    assert mean_sd([0.8, 0.9, 1.0]) == {"mean": pytest.approx(0.9), "sd": pytest.approx(0.1)}
    assert mean_sd([0.7]) == {"mean": 0.7, "sd": None}  # one value: no spread, not a spread of 0
    with pytest.raises(ValueError, match="at least one value"):
        mean_sd([])
    assert format_mean_sd(mean_sd([0.8, 0.9, 1.0])) == "90.00 ± 10.00" and format_mean_sd(mean_sd([0.7])) == "70.00"


def test_method_labels_and_their_table_order():
    assert method_name("stl") == "STL" and method_name("mtl-xc") == "MTL-XC"
    assert method_name("mtl-ls", 0.5) == "MTL-LS 0.50"
    assert method_name("stl", continued=True) == "STL continued"
    assert method_name("mtl-xc", continued=True) == "MTL-XC continued"
    labels = ["MTL-LS 1.00", "MTL-XC continued", "MTL-LS 0.25", "STL", "MTL-XC", "STL continued"]
    assert sorted(labels, key=method_order) == [
        "STL",
        "STL continued",
        "MTL-XC",
        "MTL-XC continued",
        "MTL-LS 0.25",
        "MTL-LS 1.00",
    ]


def test_rows_are_the_papers_then_user_corpora_in_their_group():
    ncbi, bc5cdr = row_identity("NCBI-disease"), row_identity("BC5CDR-disease")
    assert (bc5cdr.group, bc5cdr.dataset) == ("disease", "BC5CDR") and bc5cdr.position < ncbi.position
    notes = row_identity("my-notes", {"my-notes": {"group": "my-group", "dataset": "my-notes"}})
    assert (notes.group, notes.dataset) == ("my-group", "my-notes") and notes.position > ncbi.position
    assert row_identity("elsewhere").group == "other"


def test_a_run_config_of_an_older_version_still_reads(tmp_path):
    # Written before runs recorded their method: MTL-XC continued was an mtl-xc run with an MTL-XC checkpoint.
    (tmp_path / "run_config.json").write_text(
        json.dumps({"mode": "mtl-xc", "datasets": ["NCBI-disease"], "mtl_xc_checkpoint": "runs/xc", "old_key": 1})
    )
    config = RunConfig.read(tmp_path)
    assert config.method == "MTL-XC continued" and config.starts_from == "runs/xc" and config.steps_of("x") == 0
    config.write(tmp_path / "again")
    assert RunConfig.read(tmp_path / "again") == config
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "run_config.json").write_text('{"mode": "stl"}')
    with pytest.raises(ValueError, match=r"run_config\.json: no \['datasets'\]"):
        RunConfig.read(tmp_path / "bad")
