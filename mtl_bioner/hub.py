"""Model cards from training runs and publishing each run's per-dataset exports to the Hugging Face Hub.

A run of `run_ner_mtl.py` leaves `OUTPUT/export/<dataset>/` (weights, config with `auto_map`, `modeling_xlnet_crf.py`,
tokenizer), `OUTPUT/run_config.json` (mode, datasets, protocol) and `OUTPUT/results.json` (test scores per dataset and
method). `push_run_to_hub` stages each export with a model card and the custom pipeline's code, and uploads it to
its own repository `<hub_model_id>-<dataset>`. Only safetensors weights, JSON, Python and tokenizer files are
uploaded; pickled files (`*.bin`, `*.pt`, `*.pth`, `*.pkl`) never are.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

from data_scripts.registry import Row, UserCorpus, get_row

from .pipeline import add_pipeline_code
from .results import method_name


logger = logging.getLogger(__name__)

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "model_cards" / "template.md"
UPLOADED_SUFFIXES = (".json", ".safetensors", ".py", ".model", ".txt", ".md")
MODE_DESCRIPTIONS = {
    "stl": "STL: single-task, one model per dataset",
    "mtl-xc": "MTL-XC: one encoder and one CRF head trained on all datasets of the group",
    "mtl-ls": "MTL-LS: layer-sliced multi-task; bottom layers shared, top layers and head per dataset",
}


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: expected the {what} of a run_ner_mtl.py run")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error.msg}), expected the {what}") from None


def _export_dir(run_dir: Path, dataset_key: str) -> Path:
    folder = run_dir / "export" / dataset_key
    if not (folder / "config.json").is_file():
        available = sorted(p.name for p in (run_dir / "export").glob("*") if p.is_dir())
        raise FileNotFoundError(f"{folder} has no config.json; exports in this run: {available or 'none'}")
    return folder


def _corpus(key: str, user_corpora: dict[str, dict]) -> Row | UserCorpus:
    """A user corpus as the run's corpora file described it (`run_config.json`), else the paper row."""
    if key in user_corpora:
        return UserCorpus(**user_corpora[key])
    return get_row(key)


def _dataset_name(corpus: Row | UserCorpus) -> str:
    if isinstance(corpus, UserCorpus):
        return f"{corpus.key} ({corpus.description})" if corpus.description else corpus.key
    return f"{corpus.key} (Crichton et al. 2017, IOB2)"


def _citation(corpus: Row | UserCorpus) -> str:
    if isinstance(corpus, UserCorpus):
        return " ".join(text for text in (corpus.description, corpus.citation) if text)
    return corpus.citation


FAMILY_NAMES = {
    "xlnet": "XLNet",
    "bert": "BERT",
    "roberta": "RoBERTa",
    "xlm-roberta": "XLM-RoBERTa",
    "electra": "ELECTRA",
    "deberta": "DeBERTa",
    "deberta-v2": "DeBERTa-v2",
    "distilbert": "DistilBERT",
}


def _architecture(model_config: dict) -> dict[str, Any]:
    """Encoder family, depth and width of an exported model, whichever CRF class it is."""
    if model_config.get("model_type") == "encoder-crf":
        encoder = model_config["encoder"]
        family, model_class = encoder["model_type"], "EncoderForTokenClassificationCRF"
        layers = encoder.get("num_hidden_layers", encoder.get("n_layers"))
        hidden = encoder.get("hidden_size", encoder.get("dim"))
    else:
        family, model_class = "xlnet", "XLNetForTokenClassificationCRF"
        layers, hidden = model_config.get("n_layer"), model_config.get("d_model")
    return {
        "family": family,
        "name": FAMILY_NAMES.get(family, family),
        "layers": layers,
        "hidden": hidden,
        "model_class": model_class,
    }


def build_model_card(
    export_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    dataset_key: str,
    *,
    repo_id: str | None = None,
    template_path: str | os.PathLike | None = None,
) -> ModelCard:
    """The model card of one exported dataset model, filled from the run's config, results and the corpus registry
    (user corpora: the licence and citation their corpora file gave, carried by `run_config.json`).

    Test precision, recall and F1 go into the card's `model-index` metadata (the Hub's evaluation results).
    """
    export_dir, run_dir = Path(export_dir), Path(run_dir)
    model_config = _read_json(export_dir / "config.json", "model config")
    run_config = _read_json(run_dir / "run_config.json", "run configuration")
    user_corpora = run_config.get("user_corpora") or {}
    row = _corpus(dataset_key, user_corpora)
    mode, slicing_rate = run_config.get("mode", "stl"), run_config.get("slicing_rate")
    continued = mode == "mtl-xc" and run_config.get("mtl_xc_checkpoint") is not None
    method = method_name(mode, slicing_rate, continued=continued)
    results_path = run_dir / "results.json"
    rows = _read_json(results_path, "results").get("rows", {}) if results_path.is_file() else {}
    results = rows.get(dataset_key, {}).get("results", {}).get(method)
    if results is None:
        logger.warning(
            "no %s test scores for %s in %s: the card will have no metrics",
            method,
            dataset_key,
            results_path,
        )

    labels = [model_config["id2label"][key] for key in sorted(model_config["id2label"], key=int)]
    entity_types = sorted({label.partition("-")[2] for label in labels if "-" in label})
    train_sets = run_config.get("train_sets", {}).get(dataset_key) or [dataset_key]
    corpora = [_corpus(key, user_corpora) for key in train_sets]
    base_model = run_config.get("model_name_or_path")
    architecture = _architecture(model_config)
    n_layer = architecture["layers"]
    scheme = "BIOES" if any(label[:2] in ("E-", "S-") for label in labels) else "IOB2"
    default_name = f"{architecture['family']}-crf-{method.lower().replace(' ', '-')}-{dataset_key}"
    model_name = repo_id.split("/")[-1] if repo_id else default_name

    eval_results = []
    if results is not None:
        for metric in ("precision", "recall", "f1"):
            eval_results.append(
                EvalResult(
                    task_type="token-classification",
                    task_name="Named Entity Recognition",
                    dataset_type=dataset_key,
                    dataset_name=_dataset_name(row),
                    dataset_split="test",
                    metric_type=metric,
                    metric_name=f"Entity {metric} ({method}, mean of {results.get('n_checkpoints', 1)} checkpoints)",
                    metric_value=round(float(results[metric]), 4),
                )
            )
    card_data = ModelCardData(
        language="en",
        license="apache-2.0",
        library_name="transformers",
        pipeline_tag="token-classification",
        tags=["biomedical", "ner", "crf", architecture["family"], "multi-task", mode, row.group],
        base_model=base_model if base_model and not os.path.isdir(base_model) else None,
        model_name=model_name,
        eval_results=eval_results or None,
    )
    protocol: dict[str, Any] = {
        key: run_config.get(key)
        for key in (
            "num_train_epochs",
            "seed",
            "last_checkpoints",
            "restarts",
            "restart_epochs",
        )
    }
    template = Path(template_path) if template_path else TEMPLATE_PATH
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        model_name=model_name,
        repo_id=repo_id or f"<org>/{model_name}",
        method=method,
        dataset={"key": dataset_key, "group": row.group},
        entity_types=entity_types,
        labels=labels,
        base_model=base_model,
        architecture=architecture,
        scheme=scheme,
        mode_description=MODE_DESCRIPTIONS.get(mode, mode),
        slicing_rate=slicing_rate,
        shared_layers=round(slicing_rate * n_layer) if slicing_rate is not None and n_layer else None,
        label_scheme=model_config.get("label_scheme", "first"),
        results=results,
        protocol=protocol,
        train_sets=train_sets,
        corpora=[
            {
                "key": corpus.key,
                "license": corpus.license or "licence not stated in the corpora file",
                "attribution": corpus.attribution,
                "citation": _citation(corpus),
            }
            for corpus in corpora
        ],
    )


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
    config = _read_json(export_dir / "config.json", "model config")
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


__all__ = ["TEMPLATE_PATH", "build_model_card", "push_run_to_hub", "stage_export"]
