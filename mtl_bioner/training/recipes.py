"""Model recipes: which CRF model a `--model_name_or_path` gives, its fresh head, and the STL/MTL-XC/MTL-LS container.

XLNet folders (and the tiny XLNet trained from scratch) give the paper's `XLNetForTokenClassificationCRF`; folders of
any other supported family (BERT, RoBERTa, ELECTRA, DeBERTa-v2, ...) give `EncoderForTokenClassificationCRF`. A folder
this project exported (model type `xlnet-crf` or `encoder-crf`) keeps its class; its head starts fresh all the same.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForTokenClassification, PreTrainedTokenizerBase, set_seed

from modeling_xlnet_crf import (
    EncoderCRFConfig,
    EncoderForTokenClassificationCRF,
    XLNetCRFConfig,
    XLNetForTokenClassificationCRF,
    encoder_layout,
)

from .multitask import MultiTaskModel, layer_sliced, single_model


XLNET_TYPES = ("xlnet", XLNetCRFConfig.model_type)
CRFModel = XLNetForTokenClassificationCRF | EncoderForTokenClassificationCRF


@dataclass
class ModelRecipe:
    """How to build the per-dataset models of a run: the encoder to start from and the CRF head's settings."""

    model_name_or_path: str | None
    tokenizer: PreTrainedTokenizerBase
    label_scheme: str = "first"
    crf_constraints: str | None = None
    crf_reduction: str = "mean"
    config_overrides: str | None = None
    seed: int = 42

    def head_settings(self, label_names: Sequence[str]) -> dict:
        return dict(
            id2label=dict(enumerate(label_names)),
            label2id={label: index for index, label in enumerate(label_names)},
            label_scheme=self.label_scheme,
            crf_constraints=self.crf_constraints,
            crf_reduction=self.crf_reduction,
        )

    def encoder_type(self) -> str:
        """The `model_type` of the starting point (`xlnet` when training the paper's model from scratch)."""
        if not self.model_name_or_path:
            return "xlnet"
        return AutoConfig.from_pretrained(self.model_name_or_path).model_type

    def initial_model(self, label_names: Sequence[str]) -> CRFModel:
        """The pretrained encoder (or, from scratch, the seed's initial weights) with a fresh classifier and CRF."""
        head = self.head_settings(label_names)
        set_seed(self.seed)
        model_type = self.encoder_type()
        if model_type in XLNET_TYPES:
            config = self._xlnet_config(head)
            if not self.model_name_or_path:
                return XLNetForTokenClassificationCRF(config)
            model = XLNetForTokenClassificationCRF.from_pretrained(
                self.model_name_or_path, config=config, ignore_mismatched_sizes=True
            )
        elif model_type == EncoderCRFConfig.model_type:
            config = EncoderCRFConfig.from_pretrained(self.model_name_or_path, **head)
            if self.config_overrides:
                config.encoder.update_from_string(self.config_overrides)
            model = EncoderForTokenClassificationCRF.from_pretrained(
                self.model_name_or_path, config=config, ignore_mismatched_sizes=True
            )
        else:
            encoder_layout(model_type)  # an unknown family fails here, naming its model_type
            encoder_config = AutoConfig.from_pretrained(self.model_name_or_path)
            if self.config_overrides:  # e.g. hidden_dropout_prob=0.2
                encoder_config.update_from_string(self.config_overrides)
            model = EncoderForTokenClassificationCRF.from_encoder_pretrained(
                self.model_name_or_path, encoder_config=encoder_config, **head
            )
        # A checkpoint that already had a head must not pass it on: heads start fresh, as in the paper.
        with torch.no_grad():
            model.reset_head()
        return model

    def _xlnet_config(self, head: dict) -> XLNetCRFConfig:
        # Passed to the constructor, not set afterwards: XLNetConfig derives d_head from d_model and n_head.
        overrides = config_overrides(XLNetCRFConfig, self.config_overrides)
        if self.model_name_or_path:
            return XLNetCRFConfig.from_pretrained(self.model_name_or_path, use_mems_eval=False, **overrides, **head)
        tokenizer = self.tokenizer
        return XLNetCRFConfig(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            use_mems_eval=False,
            **{**overrides, **head},
        )


def config_overrides(config_class: type, text: str | None) -> dict:
    """'n_layer=4,d_model=128' as typed values, parsed by transformers' `update_from_string` (which takes each
    value's type from the field's default and names a field the config does not have)."""
    if not text:
        return {}
    probe = config_class()
    probe.update_from_string(text)
    return {key: getattr(probe, key) for key in (item.split("=")[0].strip() for item in text.split(",") if item)}


def load_trained_model(path: str | Path, dataset: str | None = None) -> CRFModel:
    """A model this project saved: an export folder, or a run folder's export of `dataset` (by default its first
    export: every export of an MTL-XC run is the same model)."""
    path = Path(path)
    if not (path / "config.json").exists():
        exports = sorted(path.glob("export/*/config.json"))
        if not exports:
            raise FileNotFoundError(f"{path}: neither a checkpoint folder nor a run folder with export/<dataset>/")
        if dataset is not None:
            exports = [export for export in exports if export.parent.name == dataset]
            if not exports:
                raise FileNotFoundError(f"{path}: no export/{dataset}/ to start {dataset}'s model from")
        path = exports[0].parent
    return AutoModelForTokenClassification.from_pretrained(path)


def build_container(
    mode: str,
    recipe: ModelRecipe,
    labels: dict[str, list[str]],
    *,
    slicing_rate: float | None = None,
    start_from: str | None = None,
) -> MultiTaskModel:
    """STL and MTL-XC: one model for the given tasks, continuing the run `start_from` when given (its export of the
    STL task). MTL-LS: a model per task, its embeddings and bottom layers shared and initialised from the MTL-XC run
    `start_from`."""
    task_names = list(labels)
    if mode == "mtl-ls":
        # One load of the initial weights per label set; every dataset gets its own copy of it.
        initial: dict[tuple[str, ...], CRFModel] = {}

        def make_model(name: str) -> CRFModel:
            key = tuple(labels[name])
            if key not in initial:
                initial[key] = recipe.initial_model(labels[name])
            return copy.deepcopy(initial[key])

        return layer_sliced(task_names, make_model, slicing_rate, load_trained_model(start_from))
    if mode == "mtl-xc" and len({tuple(names) for names in labels.values()}) > 1:
        raise ValueError(f"MTL-XC needs one label set across datasets, got {labels}")
    if start_from is not None:
        model = load_trained_model(start_from, task_names[0] if mode == "stl" else None)
        expected = recipe.head_settings(labels[task_names[0]])["id2label"]
        if {int(index): label for index, label in model.config.id2label.items()} != expected:
            raise ValueError(f"{start_from} tags {model.config.id2label}, expected {expected}")
        return single_model(task_names, model)
    return single_model(task_names, recipe.initial_model(labels[task_names[0]]))


__all__ = ["ModelRecipe", "build_container", "config_overrides", "load_trained_model"]
