"""The model card of one exported dataset model: what a user of the Hub must know before using or redistributing it,
filled from the run's `run_config.json` and `results.json` and the corpus registry, rendered with the template that
ships with the package (`templates/model_card.md`).

The weights' licence follows the corpora they were trained on (the most restrictive one, named), not the code's.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from data_scripts.registry import Row, UserCorpus, get_row

from .vocabulary import RunConfig, read_json, run_result


TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "model_card.md"  # package data
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
MODE_DESCRIPTIONS = {
    "stl": "STL: single-task, one model per dataset",
    "mtl-xc": "MTL-XC: one encoder and one CRF head trained on all datasets of the group",
    "mtl-ls": "MTL-LS: layer-sliced multi-task; bottom layers shared, top layers and head per dataset",
}
MODE_TAGS = {"stl": ["single-task"], "mtl-xc": ["multi-task"], "mtl-ls": ["multi-task", "layer-slicing"]}
# Creative Commons licences as the Hub names them, least restrictive first: a model trained on several corpora is
# published under the most restrictive of theirs.
_CC_LICENCE = re.compile(r"\bCC[ -]?(BY(?:[ -](?:NC|SA|ND))*)[ -]?(\d\.\d)", re.IGNORECASE)
_CC_RESTRICTIONS = ("SA", "ND", "NC")


@dataclass(frozen=True)
class Licence:
    """A corpus licence as written, and as the Hub's `license` metadata names it (`other` when not recognised)."""

    text: str
    hub_id: str

    @property
    def rank(self) -> tuple[int, ...]:
        """Higher is more restrictive: unrecognised beats every CC licence, NC beats ND beats SA beats BY."""
        if self.hub_id == "other":
            return (1, 0, 0, 0)
        parts = self.hub_id.upper().split("-")
        return (0, *(int(restriction in parts) for restriction in reversed(_CC_RESTRICTIONS)))

    @classmethod
    def of(cls, text: str | None) -> Licence:
        text = text or "licence not stated"
        match = _CC_LICENCE.search(text)
        if match is None:
            return cls(text, "other")
        kind = match.group(1).upper().replace(" ", "-")
        return cls(text, f"cc-{kind.lower()}-{match.group(2)}")


def weights_licence(corpora: list[Row | UserCorpus]) -> Licence:
    """The most restrictive licence among the training corpora (the first of equals)."""
    licences = [Licence.of(corpus.license) for corpus in corpora]
    return max(licences, key=lambda licence: licence.rank)


def _corpus(key: str, user_corpora: dict[str, dict]) -> Row | UserCorpus:
    """A user corpus as the run's corpora file described it (`run_config.json`), else the paper row."""
    if key in user_corpora:
        return UserCorpus(**user_corpora[key])
    return get_row(key)


def corpora_of(run: RunConfig, dataset_key: str) -> list[Row | UserCorpus]:
    """The corpora `dataset_key`'s model was trained on, as the registry or the run's corpora file describe them."""
    return [_corpus(key, run.user_corpora) for key in run.train_sets.get(dataset_key) or [dataset_key]]


def _dataset_name(corpus: Row | UserCorpus) -> str:
    if isinstance(corpus, UserCorpus):
        return f"{corpus.key} ({corpus.description})" if corpus.description else corpus.key
    return f"{corpus.key} (Crichton et al. 2017, IOB2)"


def _citation(corpus: Row | UserCorpus) -> str:
    if isinstance(corpus, UserCorpus):
        return " ".join(text for text in (corpus.description, corpus.citation) if text)
    return corpus.citation


def architecture(model_config: dict) -> dict[str, Any]:
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


def base_model(run_config: RunConfig) -> tuple[str | None, str]:
    """(the Hub id for the card's metadata, the words for its body): a Hub id as given or named by
    `--base_model_id`; a local folder by its name; no encoder: trained from scratch."""
    path = run_config.model_name_or_path
    if run_config.base_model_id:
        return run_config.base_model_id, run_config.base_model_id
    if not path:
        return None, "none (trained from scratch)"
    if os.path.isdir(path) or os.path.isabs(path) or path.startswith("."):
        return None, f"a local encoder folder ({Path(path).name}; its Hub id was not recorded)"
    return path, path


def _scores(run_dir: Path, dataset_key: str, method: str) -> dict | None:
    try:
        return run_result(run_dir, dataset_key, method)
    except (FileNotFoundError, ValueError):
        return None


def build_model_card(
    export_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    dataset_key: str,
    *,
    repo_id: str | None = None,
    template_path: str | os.PathLike | None = None,
) -> ModelCard:
    """The model card of one exported dataset model; test precision, recall and F1 go into its `model-index`
    metadata (the Hub's evaluation results)."""
    export_dir, run_dir = Path(export_dir), Path(run_dir)
    model_config = read_json(export_dir / "config.json", "model config of an export")
    run = RunConfig.read(run_dir)
    row = _corpus(dataset_key, run.user_corpora)
    results = _scores(run_dir, dataset_key, run.method)
    labels = [model_config["id2label"][key] for key in sorted(model_config["id2label"], key=int)]
    entity_types = sorted({label.partition("-")[2] for label in labels if "-" in label})
    corpora = corpora_of(run, dataset_key)
    licence = weights_licence(corpora)
    base_id, base_text = base_model(run)
    encoder = architecture(model_config)
    default_name = f"{encoder['family']}-crf-{run.method.lower().replace(' ', '-')}-{dataset_key}"
    model_name = repo_id.split("/")[-1] if repo_id else default_name
    card_data = ModelCardData(
        language="en",
        license=licence.hub_id,
        license_name=licence.text if licence.hub_id == "other" else None,
        library_name="transformers",
        pipeline_tag="token-classification",
        tags=["biomedical", "ner", "crf", encoder["family"], *MODE_TAGS[run.mode], row.group],
        datasets=[corpus.source for corpus in corpora if corpus.source] or None,
        base_model=base_id,
        model_name=model_name,
        eval_results=_eval_results(results, dataset_key, row, run.method) or None,
    )
    return ModelCard.from_template(
        card_data,
        template_path=str(template_path or TEMPLATE_PATH),
        model_name=model_name,
        repo_id=repo_id or f"<org>/{model_name}",
        method=run.method,
        dataset={"key": dataset_key, "group": row.group},
        entity_types=entity_types,
        labels=labels,
        base_model=base_text,
        architecture=encoder,
        scheme="BIOES" if any(label[:2] in ("E-", "S-") for label in labels) else "IOB2",
        mode_description=MODE_DESCRIPTIONS.get(run.mode, run.mode),
        slicing_rate=run.slicing_rate,
        shared_layers=round(run.slicing_rate * encoder["layers"]) if run.slicing_rate is not None else None,
        label_scheme=model_config.get("label_scheme", "first"),
        results=results,
        selected=(results or {}).get("selected"),
        run=run,
        steps=run.steps_of(dataset_key),
        length=_length(run),
        hyperparameters=run.hyperparameters,
        machine=run.machine,
        weights_licence=licence,
        train_sets=[corpus.key for corpus in corpora],
        corpora=[
            {
                "key": corpus.key,
                "license": corpus.license or "licence not stated in the corpora file",
                "attribution": corpus.attribution,
                "citation": _citation(corpus),
                "source": corpus.source,
            }
            for corpus in corpora
        ],
    )


def _length(run: RunConfig) -> str:
    """How long the run trained, as its flags said: updates when --max_steps was set, else epochs."""
    max_steps = run.hyperparameters.get("max_steps") or -1
    if max_steps > 0:
        return f"{max_steps} optimizer updates"
    return "not recorded" if run.num_train_epochs is None else f"{run.num_train_epochs:g} epochs"


def _eval_results(results: dict | None, dataset_key: str, row: Row | UserCorpus, method: str) -> list[EvalResult]:
    if results is None:
        return []
    scored = (
        "its best validation checkpoint" if results.get("selected") else f"{results['n_checkpoints']} checkpoint(s)"
    )
    return [
        EvalResult(
            task_type="token-classification",
            task_name="Named Entity Recognition",
            dataset_type=dataset_key,
            dataset_name=_dataset_name(row),
            dataset_split="test",
            metric_type=metric,
            metric_name=f"Entity {metric} ({method}, {scored})",
            metric_value=round(float(results[metric]), 4),
        )
        for metric in ("precision", "recall", "f1")
    ]


__all__ = [
    "Licence",
    "TEMPLATE_PATH",
    "architecture",
    "base_model",
    "build_model_card",
    "corpora_of",
    "weights_licence",
]
