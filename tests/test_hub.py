from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from fake_hub import FakeHub
from utils import TOY_TEXT

from mtl_bioner.hub import stage_export
from mtl_bioner.model_card import build_model_card
from mtl_bioner.tagging.tagger import BioNERTagger


pytestmark = pytest.mark.usefixtures("single_torch_thread")

TOKEN = "hf_fakeTokenThatMustNeverBePrinted0123"
RUN_CONFIG = {
    "mode": "mtl-ls",
    "slicing_rate": 0.5,
    "datasets": ["NCBI-disease", "BioNLP13CG-chem"],
    "train_sets": {
        "NCBI-disease": ["NCBI-disease", "BioNLP13CG-chem"],
        "BioNLP13CG-chem": ["NCBI-disease", "BioNLP13CG-chem"],
    },
    "model_name_or_path": "xlnet/xlnet-base-cased",
    "label_scheme": "first",
    "seed": 42,
    "num_train_epochs": 30,
    "restarts": 1,
    "restart_epochs": 2,
    "last_checkpoints": 5,
}
SCORES = {
    "precision": 0.8812,
    "recall": 0.8934,
    "f1": 0.8873,
    "f1_sd": 0.0031,
    "strict_f1": 0.8801,
    "n_checkpoints": 10,
}


@pytest.fixture
def run_dir(tiny_model_dir, tmp_path):
    run = tmp_path / "run"
    for dataset in ("NCBI-disease", "BioNLP13CG-chem"):
        shutil.copytree(tiny_model_dir, run / "export" / dataset)
    (run / "run_config.json").write_text(json.dumps(RUN_CONFIG))
    rows = {
        "NCBI-disease": {
            "group": "disease",
            "dataset": "NCBI-disease",
            "results": {"MTL-LS 0.50": SCORES},
        }
    }
    (run / "results.json").write_text(json.dumps({"rows": rows}))
    return run


def test_model_card(run_dir):
    card = build_model_card(
        run_dir / "export" / "NCBI-disease",
        run_dir,
        "NCBI-disease",
        repo_id="org/m-NCBI-disease",
    )
    metrics = {m["type"]: m["value"] for m in card.data.to_dict()["model-index"][0]["results"][0]["metrics"]}
    assert metrics == {"precision": 0.8812, "recall": 0.8934, "f1": 0.8873}
    assert card.data.base_model == "xlnet/xlnet-base-cased" and card.data.pipeline_tag == "token-classification"
    text = str(card)
    for expected in (
        "MTL-LS 0.50",
        "bottom 1 of 2 layers",
        "Length: 30 epochs",
        "mean over the last 10 checkpoints including restarts",
        "| F1 sd |",
        "1 restart(s) of 2",
        "CC BY 4.0 (Crichton et al. collection)",
        "CC BY-SA 3.0 (NaCTeM annotations)",
        "Annotations (c) NaCTeM",
        "Dogan RI",
        "trust_remote_code=True",
        "import modeling_xlnet_crf",
        'BioNERTagger.from_pretrained("org/m-NCBI-disease")',
        "0.8873",
        "Intended use and limits",
    ):
        assert expected in text, expected
    # The weights follow the most restrictive training corpus: BioNLP13CG-chem's ShareAlike, named in the text.
    data = card.data.to_dict()
    assert data["license"] == "cc-by-sa-3.0" and "**CC BY-SA 3.0 (NaCTeM annotations)" in text
    assert "multi-task" in data["tags"] and "layer-slicing" in data["tags"]
    assert len(data["datasets"]) == 2 and all("MTL-Bioinformatics-2016" in source for source in data["datasets"])
    assert "pypi.org" not in text and "pip install xlnet-crf-mtl" not in text
    # No scores for this dataset: the card says so and carries no model-index.
    card = build_model_card(run_dir / "export" / "BioNLP13CG-chem", run_dir, "BioNLP13CG-chem")
    assert "model-index" not in card.data.to_dict() and "No test scores" in str(card)


def test_staging_refuses_pickles_and_missing_code(run_dir, tmp_path):
    export = run_dir / "export" / "NCBI-disease"
    (export / "training_args.bin").write_bytes(b"pickle")
    staged = stage_export(run_dir, "NCBI-disease", tmp_path / "stage")
    names = {path.name for path in staged.iterdir()}
    assert "training_args.bin" not in names
    assert {
        "model.safetensors",
        "config.json",
        "modeling_xlnet_crf.py",
        "pipeline.py",
        "README.md",
        "tokenizer.json",
    } <= names
    assert "custom_pipelines" in json.loads((staged / "config.json").read_text())
    assert not (staged / "onnx").exists()
    (export / "onnx").mkdir()
    (export / "onnx" / "model.onnx").write_bytes(b"graph")
    assert (stage_export(run_dir, "NCBI-disease", tmp_path / "stage-onnx") / "onnx" / "model.onnx").read_bytes() == (
        b"graph"
    )
    (export / "modeling_xlnet_crf.py").unlink()
    with pytest.raises(FileNotFoundError, match="modeling_xlnet_crf.py"):
        stage_export(run_dir, "NCBI-disease", tmp_path / "stage2")
    with pytest.raises(FileNotFoundError, match="exports in this run"):
        stage_export(run_dir, "BC2GM", tmp_path / "stage3")


def test_push_run_to_fake_hub(run_dir, tiny_model_dir, tmp_path):
    from mtl_bioner.tagging.onnx_backend import export_onnx

    export_onnx(run_dir / "export" / "NCBI-disease")  # the graph travels with the checkpoint
    storage = tmp_path / "hub_storage"
    with FakeHub(storage) as hub:
        script = (
            "import logging, sys\n"
            "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)\n"
            "from mtl_bioner.hub import push_run_to_hub\n"
            f"print(push_run_to_hub({str(run_dir)!r}, 'org/xlnet-crf', private=True, token={TOKEN!r}))\n"
        )
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.endpoint,
            "HF_HUB_OFFLINE": "0",
            "HF_HOME": str(tmp_path / "hf_home"),
            "HF_HUB_VERBOSITY": "debug",
            "OMP_NUM_THREADS": "1",
        }
        env.pop("HF_TOKEN", None)
        completed = subprocess.run(
            [sys.executable, "-c", script],
            check=False,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=os.getcwd(),
        )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert TOKEN not in completed.stdout + completed.stderr
    assert set(hub.repos) == {
        "org/xlnet-crf-NCBI-disease",
        "org/xlnet-crf-BioNLP13CG-chem",
    }
    assert all(request.get("visibility") == "private" or request.get("private") for request in hub.repos.values())
    assert {r["authorization"] for r in hub.requests if r["path"].startswith("/api/models/")} == {f"Bearer {TOKEN}"}
    assert hub.unknown == [], hub.unknown

    pushed = storage / "org" / "xlnet-crf-NCBI-disease"
    assert not list(pushed.glob("*.bin"))
    expected = BioNERTagger.from_pretrained(tiny_model_dir, device="cpu")(TOY_TEXT)
    assert expected and BioNERTagger.from_pretrained(pushed, device="cpu")(TOY_TEXT) == expected
    assert (pushed / "onnx" / "model.onnx").is_file() and not (
        storage / "org" / "xlnet-crf-BioNLP13CG-chem" / "onnx"
    ).exists()
    onnx_entities = BioNERTagger.from_pretrained(pushed, backend="onnx")(TOY_TEXT)
    assert [{k: v for k, v in e.items() if k != "score"} for e in onnx_entities] == [
        {k: v for k, v in e.items() if k != "score"} for e in expected
    ]
    assert "model-index" in (pushed / "README.md").read_text()


def test_a_single_task_card_from_a_local_encoder_with_one_scored_checkpoint(run_dir):
    config = {
        **RUN_CONFIG,
        "mode": "stl",
        "slicing_rate": None,
        "train_sets": {"NCBI-disease": ["NCBI-disease"]},
        "model_name_or_path": str(run_dir),  # a local folder: never written into the metadata
        "restarts": 0,
    }
    (run_dir / "run_config.json").write_text(json.dumps(config))
    scores = {**SCORES, "f1_sd": None, "n_checkpoints": 1}
    (run_dir / "results.json").write_text(json.dumps({"rows": {"NCBI-disease": {"results": {"STL": scores}}}}))
    card = build_model_card(run_dir / "export" / "NCBI-disease", run_dir, "NCBI-disease")
    data, text = card.data.to_dict(), str(card)
    assert "multi-task" not in data["tags"] and "single-task" in data["tags"]
    assert "base_model" not in data and f"a local encoder folder ({run_dir.name}" in text
    assert data["license"] == "cc-by-4.0"
    assert "F1 sd" not in text and "the run's final one" in text  # no spread from one checkpoint
    config["base_model_id"] = "org/encoder"
    (run_dir / "run_config.json").write_text(json.dumps(config))
    assert build_model_card(run_dir / "export" / "NCBI-disease", run_dir, "NCBI-disease").data.base_model == (
        "org/encoder"
    )


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["CC BY 4.0 (Crichton et al. collection)", "CC BY-SA 3.0 (NaCTeM annotations)"], "cc-by-sa-3.0"),
        (["CC BY 4.0", "CC BY-NC 4.0 (test notes)", "CC BY-SA 3.0"], "cc-by-nc-4.0"),
        (["CC BY 4.0", "public domain (synthetic)"], "other"),
        (["CC BY 3.0 (GENIA annotations)"], "cc-by-3.0"),
    ],
)
def test_the_weights_take_the_most_restrictive_corpus_licence(texts, expected):
    from data_scripts.registry import UserCorpus
    from mtl_bioner.model_card import weights_licence

    corpora = [UserCorpus(key=f"c{index}", group="g", dataset="c", license=text) for index, text in enumerate(texts)]
    assert weights_licence(corpora).hub_id == expected


def test_the_committed_example_card_matches_the_template_and_the_registry():
    """model_cards/examples holds the demo's MTL-LS NCBI-disease card: its metadata must be what the registry says
    (licence, sources, base model) and its sections those of today's template, or it must be rendered again."""
    import re
    from pathlib import Path

    from huggingface_hub import ModelCard

    from data_scripts.registry import get_row
    from mtl_bioner.model_card import TEMPLATE_PATH, weights_licence

    root = Path(__file__).resolve().parents[1]
    card = ModelCard.load(root / "model_cards" / "examples" / "minilm-crf-mtl-ls-NCBI-disease.md")
    data = card.data.to_dict()
    corpora = [get_row(key) for key in ("BC5CDR-disease", "NCBI-disease")]
    assert data["license"] == weights_licence(corpora).hub_id
    assert data["datasets"] == [corpus.source for corpus in corpora]
    assert data["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert {"multi-task", "layer-slicing", "disease"} <= set(data["tags"])
    f1 = {metric["type"]: metric["value"] for metric in data["model-index"][0]["results"][0]["metrics"]}["f1"]
    assert 0.5 < f1 < 1
    headings = re.compile(r"^## (.+)$", re.MULTILINE)
    template_headings = [h.split("{{")[0].strip() for h in headings.findall(TEMPLATE_PATH.read_text())]
    card_headings = headings.findall(card.text)
    assert len(card_headings) == len(template_headings)
    assert all(c.startswith(t) for c, t in zip(card_headings, template_headings))
