"""Publishing a run's per-dataset exports to the Hugging Face Hub, each with its model card (`model_card`).

A run of `run_ner_mtl.py` leaves `OUTPUT/export/<dataset>/` (weights, config with `auto_map`, `modeling_xlnet_crf.py`,
tokenizer), `OUTPUT/run_config.json` and `OUTPUT/results.json`. `push_run_to_hub` stages each export with its model
card and the custom pipeline's code, and uploads it to its own repository `<hub_model_id>-<dataset>`. Only
safetensors weights, JSON, Python and tokenizer files and the ONNX graphs of `bioner-export` are uploaded; pickled
files (`*.bin`, `*.pt`, `*.pth`, `*.pkl`) never are.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from huggingface_hub import HfApi

from .model_card import build_model_card
from .tagging.onnx_backend import ONNX_DIR
from .tagging.remote_code import add_pipeline_code
from .vocabulary import read_json


logger = logging.getLogger(__name__)

UPLOADED_SUFFIXES = (".json", ".safetensors", ".py", ".model", ".txt", ".md")


def _export_dir(run_dir: Path, dataset_key: str) -> Path:
    folder = run_dir / "export" / dataset_key
    if not (folder / "config.json").is_file():
        available = sorted(p.name for p in (run_dir / "export").glob("*") if p.is_dir())
        raise FileNotFoundError(f"{folder} has no config.json; exports in this run: {available or 'none'}")
    return folder


def stage_export(
    run_dir: str | os.PathLike,
    dataset_key: str,
    staging_dir: str | os.PathLike,
    *,
    repo_id: str | None = None,
) -> Path:
    """Copy one export into `staging_dir` with its model card and the pipeline code: the folder that is uploaded."""
    run_dir, staging_dir = Path(run_dir), Path(staging_dir)
    export_dir = _export_dir(run_dir, dataset_key)
    if (
        not (export_dir / "model.safetensors").is_file()
        and not (export_dir / "model.safetensors.index.json").is_file()
    ):
        raise FileNotFoundError(f"{export_dir} has no model.safetensors: only safetensors weights are published")
    config = read_json(export_dir / "config.json", "model config")
    if (
        "AutoModelForTokenClassification" not in config.get("auto_map", {})
        or not (export_dir / "modeling_xlnet_crf.py").is_file()
    ):
        raise FileNotFoundError(
            f"{export_dir} lacks modeling_xlnet_crf.py or an auto_map in config.json: save it with the model class "
            "imported from modeling_xlnet_crf so that save_pretrained ships the code"
        )
    staging_dir.mkdir(parents=True, exist_ok=True)
    for file in sorted(export_dir.iterdir()):
        if file.is_file() and file.suffix in UPLOADED_SUFFIXES and file.name != "README.md":
            shutil.copy2(file, staging_dir / file.name)
    for graph in sorted(export_dir.glob(f"{ONNX_DIR}/*.onnx")):  # bioner-export's graphs travel with the checkpoint
        (staging_dir / ONNX_DIR).mkdir(exist_ok=True)
        shutil.copy2(graph, staging_dir / ONNX_DIR / graph.name)
    add_pipeline_code(staging_dir)
    build_model_card(export_dir, run_dir, dataset_key, repo_id=repo_id).save(staging_dir / "README.md")
    return staging_dir


def push_run_to_hub(
    run_dir: str | os.PathLike,
    hub_model_id: str,
    *,
    private: bool = False,
    token: str | None = None,
    commit_message: str = "Upload XLNet-CRF model trained with xlnet-crf-mtl",
) -> dict[str, str]:
    """Push every `run_dir/export/<dataset>` to the repository `<hub_model_id>-<dataset>`; returns dataset -> URL.

    `token` defaults to the stored login / `HF_TOKEN`; it is passed to huggingface_hub and never logged.
    """
    run_dir = Path(run_dir)
    if hub_model_id.count("/") > 1 or not hub_model_id.strip("/"):
        raise ValueError(f"hub_model_id={hub_model_id!r}, expected NAME or ORG/NAME")
    datasets = sorted(path.parent.name for path in (run_dir / "export").glob("*/config.json"))
    if not datasets:
        raise FileNotFoundError(f"{run_dir / 'export'} holds no exported model (export/<dataset>/config.json)")
    api = HfApi(token=token)
    urls = {}
    for dataset_key in datasets:
        repo_id = f"{hub_model_id}-{dataset_key}"
        with tempfile.TemporaryDirectory(prefix="xlnet_crf_push_") as staging:
            stage_export(run_dir, dataset_key, staging, repo_id=repo_id)
            logger.info(
                "pushing %s to %s (private=%s)",
                run_dir / "export" / dataset_key,
                repo_id,
                private,
            )
            repo_url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
            api.upload_folder(
                folder_path=staging,
                repo_id=repo_url.repo_id,
                repo_type="model",
                commit_message=commit_message,
            )
        urls[dataset_key] = str(repo_url)
    return urls


__all__ = ["push_run_to_hub", "stage_export"]
