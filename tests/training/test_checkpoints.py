"""Checkpoint folders of a run: Trainer's order, and MTL-LS containers loaded back from what Trainer saved."""

import pytest
import torch
from transformers import Trainer, TrainingArguments
from utils import sliced

from mtl_bioner.training.checkpoints import checkpoint_dirs, load_container_weights


def test_checkpoint_dirs_are_ordered_by_step_and_skip_other_entries(tmp_path):
    for name in ("checkpoint-10", "checkpoint-9", "checkpoint-100", "checkpoint-best", "export"):
        (tmp_path / name).mkdir()
    (tmp_path / "checkpoint-7").write_text("a file, not a checkpoint")
    assert [path.name for path in checkpoint_dirs(tmp_path)] == ["checkpoint-9", "checkpoint-10", "checkpoint-100"]
    assert checkpoint_dirs(tmp_path / "export") == []


def test_a_container_saved_by_trainer_loads_back_with_its_shared_layers(tmp_path):
    container, _ = sliced(0.5)
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], disable_tqdm=True)
    Trainer(model=container, args=args).save_model(str(tmp_path / "checkpoint-4"))
    fresh, _ = sliced(0.5)
    with torch.no_grad():
        for parameter in fresh.parameters():
            parameter.zero_()
    load_container_weights(fresh, tmp_path / "checkpoint-4")
    expected = dict(container.named_parameters(remove_duplicate=False))
    for name, parameter in fresh.named_parameters(remove_duplicate=False):
        torch.testing.assert_close(parameter, expected[name], rtol=0, atol=0, msg=name)
    a, b = fresh.models["A"].transformer, fresh.models["B"].transformer
    assert a.layer[1].ff.layer_1.weight is b.layer[1].ff.layer_1.weight


def test_a_folder_without_weights_says_what_was_expected(tmp_path):
    container, _ = sliced(0.5)
    with pytest.raises(FileNotFoundError, match="no model.safetensors, expected a checkpoint folder"):
        load_container_weights(container, tmp_path)
