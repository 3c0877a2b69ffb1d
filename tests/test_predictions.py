"""The predictions file: what write_predictions writes, read_predictions reads back; bad lines are named."""

import json

import pytest

from mtl_bioner.predictions import read_predictions, write_predictions


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
