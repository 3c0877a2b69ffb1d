"""MultiTaskModel: routing, MTL-LS layer sharing, gradients that stay in their task, standalone exports."""

import pytest
import torch
from transformers import AutoModelForTokenClassification
from utils import sliced, toy_batch

from mtl_bioner.training.multitask import shared_layer_count


def test_layer_slicing_shares_one_set_of_parameters():
    container, xc = sliced(0.5)
    a, b = container.models["A"].transformer, container.models["B"].transformer
    k = shared_layer_count(4, 0.5)
    assert k == 2
    assert a.word_embedding.weight.data_ptr() == b.word_embedding.weight.data_ptr()
    assert a.mask_emb.data_ptr() == b.mask_emb.data_ptr()
    for index in range(4):
        same = a.layer[index].rel_attn.q.data_ptr() == b.layer[index].rel_attn.q.data_ptr()
        assert same == (index < k)
    # Shared parts start from MTL-XC; task-specific top layers and heads do not.
    torch.testing.assert_close(a.layer[1].ff.layer_1.weight, xc.transformer.layer[1].ff.layer_1.weight)
    torch.testing.assert_close(a.word_embedding.weight, xc.transformer.word_embedding.weight)
    assert not torch.equal(a.layer[3].ff.layer_1.weight, xc.transformer.layer[3].ff.layer_1.weight)


def test_state_dict_stores_shared_tensors_once_and_loading_keeps_the_sharing():
    container, _ = sliced(0.5)
    a = container.models["A"].transformer
    state = container.state_dict()
    assert not any(key.startswith("models.B.transformer.layer.0.") for key in state)
    assert "models.B.transformer.layer.3.ff.layer_1.weight" in state
    fresh, _ = sliced(0.5)
    with torch.no_grad():
        for parameter in fresh.parameters():
            parameter.zero_()
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.models["B"].transformer.layer[0].ff.layer_1.weight, a.layer[0].ff.layer_1.weight)
    assert (
        fresh.models["A"].transformer.layer[0].ff.layer_1.weight.data_ptr()
        == fresh.models["B"].transformer.layer[0].ff.layer_1.weight.data_ptr()
    )


def test_shared_layer_count():
    assert shared_layer_count(4, 0.0) == 0 and shared_layer_count(4, 1.0) == 4 and shared_layer_count(12, 0.25) == 3
    with pytest.raises(ValueError, match="slicing_rate"):
        shared_layer_count(4, 1.5)


def test_a_batch_of_one_task_leaves_the_other_tasks_head_and_top_layers_untouched():
    container, _ = sliced(0.5)
    container.train()
    container(task="A", **toy_batch()).loss.backward()
    a, b = container.models["A"], container.models["B"]
    for name, parameter in b.named_parameters():
        shared = name.startswith(
            ("transformer.word_embedding", "transformer.mask_emb", "transformer.layer.0.", "transformer.layer.1.")
        )
        if shared:
            continue
        assert parameter.grad is None or not parameter.grad.any(), name
    for module in (a.classifier, a.crf, a.transformer.layer[3], a.transformer.layer[0], a.transformer.word_embedding):
        assert any(p.grad is not None and p.grad.any() for p in module.parameters())
    with pytest.raises(KeyError, match="unknown task 'C'"):
        container(task="C", **toy_batch())


def test_exported_checkpoint_reproduces_the_multi_task_model(tmp_path):
    container, _ = sliced(0.5)
    container.eval()
    batch = toy_batch(seed=3)
    del batch["labels"]
    with torch.no_grad():
        expected = container(task="B", **batch).predictions
    container.model_for("B").save_pretrained(tmp_path)
    exported = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(exported(**batch).predictions, expected)
