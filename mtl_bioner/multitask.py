"""Several datasets, one container: STL, MTL-XC and MTL-LS are three ways of sharing the same modules.

Each dataset owns a complete `XLNetForTokenClassificationCRF`. In MTL-XC every dataset points at one model. In
MTL-LS (layer slicing) the word embeddings and the bottom k encoder layers of all the per-dataset models are the
*same* module objects, so a batch of dataset A runs through model A unchanged and its gradients reach the shared
layers and A's own top layers and CRF only. Exporting a dataset is `save_pretrained` of its model: a standalone
checkpoint with the shared weights inside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from modeling_xlnet_crf import XLNetForTokenClassificationCRF


MODES = ("stl", "mtl-xc", "mtl-ls")


def shared_layer_count(n_layer: int, slicing_rate: float) -> int:
    """k = round(rate * n): how many bottom encoder layers MTL-LS shares (rate 0 shares the embeddings only)."""
    if not 0.0 <= slicing_rate <= 1.0:
        raise ValueError(f"slicing_rate must be in [0, 1], got {slicing_rate}")
    return round(slicing_rate * n_layer)


class MultiTaskModel(nn.Module):
    """Routes `forward(task=..., **batch)` to the model of that task.

    `routes` maps task names to keys of `models`; several tasks may share a key (MTL-XC). Parameters shared between
    models (MTL-LS) appear once in `state_dict()` — under the first model that holds them — because safetensors
    refuses aliased tensors; `load_state_dict` restores the aliases, so Trainer checkpoints save and resume as usual.
    """

    accepts_loss_kwargs = False

    def __init__(self, models: Mapping[str, XLNetForTokenClassificationCRF], routes: Mapping[str, str]):
        super().__init__()
        unknown = sorted(set(routes.values()) - set(models))
        if unknown:
            raise ValueError(f"routes point at models {unknown} that are not in {sorted(models)}")
        self.models = nn.ModuleDict(models)
        self.routes = dict(routes)
        self.aliases = self._find_aliases()

    @property
    def tasks(self) -> list[str]:
        return list(self.routes)

    def model_for(self, task: str) -> XLNetForTokenClassificationCRF:
        if task not in self.routes:
            raise KeyError(f"unknown task {task!r}; this model was trained on {self.tasks}")
        return self.models[self.routes[task]]

    @property
    def config(self):
        """The first model's config: Trainer reads a few generic fields from `model.config`."""
        return next(iter(self.models.values())).config

    def _find_aliases(self) -> dict[str, str]:
        first_name: dict[int, str] = {}
        aliases = {}
        for name, tensor in [
            *self.named_parameters(remove_duplicate=False),
            *self.named_buffers(remove_duplicate=False),
        ]:
            key = id(tensor)
            if key in first_name:
                aliases[name] = first_name[key]
            else:
                first_name[key] = name
        return aliases

    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False):
        state = super().state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)
        for alias in self.aliases:
            state.pop(prefix + alias, None)
        return state

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        state_dict = dict(state_dict)
        for alias, source in self.aliases.items():
            if alias not in state_dict and source in state_dict:
                state_dict[alias] = state_dict[source]
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def forward(
        self,
        task: str,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        word_ids: torch.Tensor | None = None,
    ):
        return self.model_for(task)(
            input_ids=input_ids, attention_mask=attention_mask, labels=labels, word_ids=word_ids
        )


def single_model(tasks: list[str], model: XLNetForTokenClassificationCRF) -> MultiTaskModel:
    """STL (one task) or MTL-XC (every task on one model, hence one unified label set)."""
    return MultiTaskModel({"shared": model}, {task: "shared" for task in tasks})


def layer_sliced(
    tasks: list[str],
    make_model: Callable[[str], XLNetForTokenClassificationCRF],
    slicing_rate: float,
    mtl_xc_model: XLNetForTokenClassificationCRF | None,
) -> MultiTaskModel:
    """MTL-LS: one model per task from `make_model(task)` (pretrained or initial encoder, fresh head and CRF), whose
    word embeddings and bottom k layers are replaced by one shared copy initialised from `mtl_xc_model`."""
    models = {task: make_model(task) for task in tasks}
    first = models[tasks[0]]
    n_layer = first.config.n_layer
    k = shared_layer_count(n_layer, slicing_rate)
    owner = first.transformer
    if mtl_xc_model is not None:
        source = mtl_xc_model.transformer
        if source.word_embedding.weight.shape != owner.word_embedding.weight.shape or len(source.layer) != n_layer:
            raise ValueError(
                f"the MTL-XC model has embeddings {tuple(source.word_embedding.weight.shape)} and {len(source.layer)} "
                f"layers, expected {tuple(owner.word_embedding.weight.shape)} and {n_layer} as in the task models"
            )
        owner.word_embedding.load_state_dict(source.word_embedding.state_dict())
        owner.mask_emb.data.copy_(source.mask_emb.data)
        for index in range(k):
            owner.layer[index].load_state_dict(source.layer[index].state_dict())
    for task in tasks[1:]:
        transformer = models[task].transformer
        transformer.word_embedding = owner.word_embedding
        transformer.mask_emb = owner.mask_emb
        for index in range(k):
            transformer.layer[index] = owner.layer[index]
    return MultiTaskModel(models, {task: task for task in tasks})


__all__ = ["MODES", "MultiTaskModel", "layer_sliced", "shared_layer_count", "single_model"]
