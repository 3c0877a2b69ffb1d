"""Several datasets, one container: STL, MTL-XC and MTL-LS are three ways of sharing the same modules.

Each dataset owns a complete CRF model (`XLNetForTokenClassificationCRF` or `EncoderForTokenClassificationCRF`).
In MTL-XC every dataset points at one model. In MTL-LS (layer slicing) the embeddings and the bottom k encoder layers of all the per-dataset models are the
*same* module objects, so a batch of dataset A runs through model A unchanged and its gradients reach the shared
layers and A's own top layers and CRF only. Exporting a dataset is `save_pretrained` of its model: a standalone
checkpoint with the shared weights inside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from modeling_xlnet_crf import CRFTokenClassificationMixin as CRFModel


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

    def __init__(self, models: Mapping[str, CRFModel], routes: Mapping[str, str]):
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

    def model_for(self, task: str) -> CRFModel:
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


def single_model(tasks: list[str], model: CRFModel) -> MultiTaskModel:
    """STL (one task) or MTL-XC (every task on one model, hence one unified label set)."""
    return MultiTaskModel({"shared": model}, {task: "shared" for task in tasks})


def _get(module: nn.Module, path: str):
    """The submodule or parameter at a dotted path, or None when this config does not create it."""
    parent_path, _, name = path.rpartition(".")
    try:
        parent = module.get_submodule(parent_path) if parent_path else module
    except AttributeError:
        return None
    return getattr(parent, name, None)


def _set(module: nn.Module, path: str, value) -> None:
    parent_path, _, name = path.rpartition(".")
    setattr(module.get_submodule(parent_path) if parent_path else module, name, value)


def _copy(target, source) -> None:
    if isinstance(target, nn.Module):
        target.load_state_dict(source.state_dict())
    else:
        target.data.copy_(source.data)


def layer_sliced(
    tasks: list[str],
    make_model: Callable[[str], CRFModel],
    slicing_rate: float,
    mtl_xc_model: CRFModel | None,
) -> MultiTaskModel:
    """MTL-LS: one model per task from `make_model(task)` (pretrained or initial encoder, fresh head and CRF), whose
    embeddings and bottom k layers are replaced by one shared copy initialised from `mtl_xc_model`.

    Which modules are "the embeddings" and "the layers" comes from each encoder family's `EncoderLayout`, so this
    works for XLNet and for every BERT-family encoder alike.
    """
    models = {task: make_model(task) for task in tasks}
    first = models[tasks[0]]
    layout = first.encoder_layout
    owner = first.backbone
    n_layer = len(first.encoder_layers())
    k = shared_layer_count(n_layer, slicing_rate)
    shared_paths = [path for path in layout.embeddings if _get(owner, path) is not None]
    shared_paths += [f"{layout.layers}.{index}" for index in range(k)]
    if mtl_xc_model is not None:
        source = mtl_xc_model.backbone
        if type(source) is not type(owner) or len(mtl_xc_model.encoder_layers()) != n_layer:
            raise ValueError(
                f"the MTL-XC model has a {type(source).__name__} with {len(mtl_xc_model.encoder_layers())} layers, "
                f"expected a {type(owner).__name__} with {n_layer} layers as in the task models"
            )
        for path in shared_paths:
            value = _get(source, path)
            if value is None:
                raise ValueError(f"the MTL-XC model's encoder has no {path}, unlike the task models'")
            try:
                _copy(_get(owner, path), value)
            except RuntimeError as error:  # a size mismatch, from load_state_dict or copy_
                raise ValueError(f"the MTL-XC model's {path} does not fit the task models': {error}") from error
    for task in tasks[1:]:
        backbone = models[task].backbone
        for path in shared_paths:
            _set(backbone, path, _get(owner, path))
    return MultiTaskModel(models, {task: task for task in tasks})


__all__ = ["MODES", "MultiTaskModel", "layer_sliced", "shared_layer_count", "single_model"]
