from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from fake_hub import FakeHub
from utils import TOY_TEXT

from mtl_bioner.hub import build_model_card, stage_export
from mtl_bioner.inference import BioNERTagger


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
        "30 epochs",
        "last\n  5 saved checkpoints",
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
    (export / "modeling_xlnet_crf.py").unlink()
    with pytest.raises(FileNotFoundError, match="modeling_xlnet_crf.py"):
        stage_export(run_dir, "NCBI-disease", tmp_path / "stage2")
    with pytest.raises(FileNotFoundError, match="exports in this run"):
        stage_export(run_dir, "BC2GM", tmp_path / "stage3")


def test_push_run_to_fake_hub(run_dir, tiny_model_dir, tmp_path):
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
    assert "model-index" in (pushed / "README.md").read_text()
