from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from transformers import pipeline
from utils import TOY_TEXT

from mtl_bioner.tagging.pipeline import XLNetCRFTokenClassificationPipeline
from mtl_bioner.tagging.remote_code import add_pipeline_code, remote_code_sources
from mtl_bioner.tagging.tagger import BioNERTagger


pytestmark = pytest.mark.usefixtures("single_torch_thread")

TEXTS = [TOY_TEXT, "", "Familial breast and ovar\u00adian cancer\tand the tumour.\n"]


def as_pipeline_output(entities):
    return [
        {
            "entity_group": e["type"],
            "score": e["score"],
            "word": e["text"],
            "start": e["start"],
            "end": e["end"],
        }
        for e in entities
    ]


def assert_same(got, expected):
    assert [{k: v for k, v in e.items() if k != "score"} for e in got] == [
        {k: v for k, v in e.items() if k != "score"} for e in expected
    ]
    assert [e["score"] for e in got] == pytest.approx([e["score"] for e in expected], abs=1e-5)


@pytest.fixture(scope="module")
def pipeline_dir(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline_model") / "tiny-crf"
    shutil.copytree(tiny_model_dir, folder)
    copied = add_pipeline_code(folder)
    assert {path.name for path in copied} == {
        "pipeline.py",
        "tagger.py",
        "onnx_backend.py",
        "windows.py",
        "precision.py",
        "entities.py",
        "text.py",
        "alignment.py",
        "collator.py",
        "schemes.py",
    }
    return folder


def test_the_shipped_code_reads_the_tag_scheme_module_beside_it():
    sources = remote_code_sources()
    assert "from .schemes import entity_spans" in sources["entities.py"]
    assert "from data_scripts" not in "".join(sources.values())


def test_a_module_that_would_import_the_project_is_refused(monkeypatch, tmp_path):
    from mtl_bioner.tagging import remote_code

    (tmp_path / "pipeline.py").write_text("from mtl_bioner.vocabulary import STL\n")
    monkeypatch.setattr(remote_code, "HERE", tmp_path)
    monkeypatch.setattr(remote_code, "REMOTE_CODE_MODULES", ("pipeline",))
    with pytest.raises(RuntimeError, match=r"pipeline\.py:1: import of mtl_bioner\.vocabulary"):
        remote_code_sources()


@pytest.fixture(scope="module")
def expected(tiny_model_dir):
    tagger = BioNERTagger.from_pretrained(tiny_model_dir, device="cpu")
    return [as_pipeline_output(entities) for entities in tagger(TEXTS)]


def test_pipeline_class_matches_tagger(pipeline_dir, expected):
    ner = pipeline(
        "token-classification",
        model=str(pipeline_dir),
        pipeline_class=XLNetCRFTokenClassificationPipeline,
        device="cpu",
    )
    assert isinstance(ner, XLNetCRFTokenClassificationPipeline)
    assert expected[0]  # the comparison is about real entities
    got = ner(TEXTS)
    for entities, reference in zip(got, expected, strict=True):
        assert_same(entities, reference)
    assert_same(ner(TOY_TEXT), expected[0])
    assert_same(ner.run_single(TEXTS[2], {}, {}, {}), expected[2])  # the Pipeline step interface
    with pytest.raises(TypeError, match="aggregation_strategy"):
        ner(TOY_TEXT, aggregation_strategy="simple")
    for entities, reference in zip(ner(TEXTS, batch_size=1), expected, strict=True):  # batch size: speed only
        assert_same(entities, reference)
    batched = pipeline("token-classification", model=str(pipeline_dir), pipeline_class=type(ner), batch_size=8)
    for entities, reference in zip(batched(TEXTS), expected, strict=True):
        assert_same(entities, reference)


def test_pipeline_runs_under_inference_mode(pipeline_dir, expected):
    """The CRF marginals come from an explicit forward-backward, so Pipeline.forward's inference_mode is no obstacle."""
    ner = pipeline("token-classification", model=str(pipeline_dir), pipeline_class=XLNetCRFTokenClassificationPipeline)
    with torch.inference_mode():
        assert_same(ner.run_single(TEXTS[2], {}, {}, {}), expected[2])


def test_remote_code_pipeline_in_a_fresh_process(pipeline_dir, expected, tmp_path):
    """A plain-transformers process (our package never imported) gets the CRF pipeline from the checkpoint."""
    script = f"""
import json, sys
from transformers import pipeline
try:
    pipeline("token-classification", model={str(pipeline_dir)!r})
except ValueError as error:
    refused = "trust_remote_code" in str(error)
ner = pipeline("token-classification", model={str(pipeline_dir)!r}, trust_remote_code=True, device="cpu")
result = ner({TEXTS!r})
assert not any(name.split(".")[0] in ("mtl_bioner", "modeling_xlnet_crf") for name in sys.modules)
print("\\nRESULT", json.dumps({{"refused": refused, "class": type(ner).__name__, "model": type(ner.model).__module__, "result": result}}))
"""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
        "PYTHONPATH": "",
        "OMP_NUM_THREADS": "1",
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    (line,) = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    report = json.loads(line[len("RESULT ") :])
    assert report["refused"], "without trust_remote_code the custom pipeline must be refused"
    assert report["class"] == "XLNetCRFTokenClassificationPipeline"
    assert report["model"].startswith("transformers_modules.")
    for entities, reference in zip(report["result"], expected, strict=True):
        assert_same(entities, reference)
