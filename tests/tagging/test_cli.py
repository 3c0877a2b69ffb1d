from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from utils import TOY_TEXT

from mtl_bioner.tagging.cli import main
from mtl_bioner.tagging.tagger import BioNERTagger


pytestmark = pytest.mark.usefixtures("single_torch_thread")

TITLE = "Familial breast and ovarian cancer."
ABSTRACT = "The BRCA1 gene is mutated in familial breast and ovar\u00adian cancer.\tThe tumour suppressor is lost."


def run(args, capsys):
    code = main([*args, "--no_progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


@pytest.fixture(scope="module")
def tagger(tiny_model_dir):
    return BioNERTagger.from_pretrained(tiny_model_dir, device="cpu")


def test_text_and_lines_to_jsonl(tiny_model_dir, tagger, tmp_path, capsys):
    source = tmp_path / "doc.txt"
    source.write_text(TOY_TEXT, encoding="utf-8")
    (record,) = [
        json.loads(line) for line in run(["--model", str(tiny_model_dir), "--input", str(source)], capsys).splitlines()
    ]
    assert record["id"] == "doc" and record["entities"] == tagger(TOY_TEXT) and record["entities"]

    lines = ["ovarian cancer in families", "", "no entity here", TITLE]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    run(
        [
            "--model",
            str(tiny_model_dir),
            "--input",
            str(source),
            "--input_format",
            "lines",
            "--output",
            str(output),
            "--batch_size",
            "2",
        ],
        capsys,
    )
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["1", "3", "4"]
    for record in records:
        text = lines[int(record["id"]) - 1]
        assert all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])


def test_jsonl_to_bioc(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "docs.jsonl"
    documents = [{"id": "a", "text": TOY_TEXT}, {"text": "😀 ovarian cancer"}]
    source.write_text("\n".join(json.dumps(d) for d in documents) + "\n", encoding="utf-8")
    collection = json.loads(
        run(
            [
                "--model",
                str(tiny_model_dir),
                "--input",
                str(source),
                "--output_format",
                "bioc",
            ],
            capsys,
        )
    )
    assert [d["id"] for d in collection["documents"]] == ["a", "2"]
    annotations = [a for d in collection["documents"] for p in d["passages"] for a in p["annotations"]]
    assert annotations
    for document, original in zip(collection["documents"], documents):
        (passage,) = document["passages"]
        assert passage["text"] == original["text"]
        for annotation in passage["annotations"]:
            (location,) = annotation["locations"]
            start = location["offset"] - passage["offset"]
            assert passage["text"][start : start + location["length"]] == annotation["text"]


def test_pubtator_round_trip(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "docs.pubtator"
    source.write_text(
        f"123|t|{TITLE}\n123|a|{ABSTRACT}\n123\t0\t8\tFamilial\tDisease\tD1\n\n456|t|{TITLE}\n",
        encoding="utf-8",
    )
    output = run(
        [
            "--model",
            str(tiny_model_dir),
            str(tiny_model_dir),
            "--overlaps",
            "resolve",
            "--input",
            str(source),
            "--output_format",
            "pubtator",
        ],
        capsys,
    )
    blocks = output.strip().split("\n\n")
    assert len(blocks) == 2
    lines = blocks[0].splitlines()
    assert lines[0] == f"123|t|{TITLE}" and lines[1] == f"123|a|{ABSTRACT}"
    document = TITLE + " " + ABSTRACT
    assert lines[2] == "123\t0\t8\tFamilial\tDisease\tD1"  # the input's annotation first, as it was
    annotations = [line.split("\t") for line in lines[3:]]
    assert annotations
    for pmid, start, end, text, entity_type in annotations:
        assert pmid == "123" and document[int(start) : int(end)] == text and entity_type == "Disease"
    assert any(int(start) > len(TITLE) for _, start, *_ in annotations)  # abstract offsets are shifted


def test_stdin_to_stdout_as_a_module(tiny_model_dir, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mtl_bioner.tagging.cli",
            "--model",
            str(tiny_model_dir),
            "--input_format",
            "lines",
        ],
        input="ovarian cancer\nbreast and ovarian cancer\n",
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert [json.loads(line)["id"] for line in completed.stdout.splitlines()] == [
        "1",
        "2",
    ]


def test_clear_errors(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "body": "no text"}\n', encoding="utf-8")
    assert main(["--model", str(tiny_model_dir), "--input", str(source), "--no_progress"]) == 1
    assert f'{source}, line 2: expected an object with a string "text" field' in capsys.readouterr().err
    source.write_text("not pubtator\n", encoding="utf-8")
    assert (
        main(
            [
                "--model",
                str(tiny_model_dir),
                "--input",
                str(source),
                "--input_format",
                "pubtator",
                "--no_progress",
            ]
        )
        == 1
    )
    assert "line 1: expected `PMID|t|title`" in capsys.readouterr().err
    assert (
        main(
            [
                "--model",
                str(tmp_path / "missing"),
                "--input",
                str(source),
                "--no_progress",
            ]
        )
        == 1
    )
    assert "Could not load" in capsys.readouterr().err
