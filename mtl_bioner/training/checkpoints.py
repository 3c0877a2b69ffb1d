"""Checkpoint folders of a `MultiTaskTrainer` run: which ones there are, and loading one into the container."""

from __future__ import annotations

import os
from pathlib import Path

import safetensors.torch
import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, sort_checkpoints
from transformers.utils import SAFE_WEIGHTS_NAME

from .multitask import MultiTaskModel


def checkpoint_dirs(output_dir: str | os.PathLike) -> list[Path]:
    """The `checkpoint-<step>` folders of a run, oldest first, ordered as `Trainer` itself orders them (for its
    `save_total_limit` rotation and `resume_from_checkpoint=True`)."""
    return [Path(path) for path in sort_checkpoints(str(output_dir), checkpoint_prefix=PREFIX_CHECKPOINT_DIR)]


def load_container_weights(model: MultiTaskModel, checkpoint_dir: str | os.PathLike) -> None:
    """Load a checkpoint written by `MultiTaskTrainer` into `model` (safetensors only, so nothing is unpickled).

    Goes through `MultiTaskModel.load_state_dict`, which restores the MTL-LS aliases the checkpoint stores once.
    """
    path = Path(checkpoint_dir) / SAFE_WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {SAFE_WEIGHTS_NAME}, expected a checkpoint folder written by the trainer")
    model.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)


def load_model_weights(model: torch.nn.Module, model_dir: str | os.PathLike) -> None:
    """Load a folder written by `save_pretrained` of one per-dataset model into `model` (which may share modules
    with other models of its container: they receive the weights too)."""
    path = Path(model_dir) / SAFE_WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no {SAFE_WEIGHTS_NAME}, expected a model folder written by save_pretrained")
    model.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)


__all__ = ["checkpoint_dirs", "load_container_weights", "load_model_weights"]
