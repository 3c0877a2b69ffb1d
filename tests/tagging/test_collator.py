"""DataCollatorForWordCRF with mixed-task batches (MTL-XC shuffling); padding is tested in test_alignment.py."""

import pytest

from mtl_bioner.tagging.alignment import encode_sentence
from mtl_bioner.tagging.collator import DataCollatorForWordCRF


@pytest.fixture
def window(tiny_tokenizer):
    return encode_sentence(["rats", "were", "blocked"], tiny_tokenizer, [0, 1, 2])[0]


def test_a_batch_of_tasks_sharing_one_model_is_routed_by_one_of_them(tiny_tokenizer, window):
    collator = DataCollatorForWordCRF(tiny_tokenizer, task_routes={"b": "shared", "a": "shared"})
    batch = collator([dict(window, task="b"), dict(window, task="a"), dict(window, task="b")])
    assert batch["task"] == "a"  # the first name in sorted order, whatever the batch order
    assert batch["input_ids"].shape[0] == 3


def test_a_batch_mixing_models_is_refused(tiny_tokenizer, window):
    collator = DataCollatorForWordCRF(tiny_tokenizer, task_routes={"a": "a", "b": "b"})
    with pytest.raises(ValueError, match=r"mixes tasks \['a', 'b'\] of different models \['a', 'b'\]"):
        collator([dict(window, task="a"), dict(window, task="b")])
    with pytest.raises(ValueError, match=r"tasks \['c'\] that task_routes does not know"):
        collator([dict(window, task="a"), dict(window, task="c")])
    assert collator([dict(window, task="b")] * 2)["task"] == "b"  # one task is always fine


def test_without_routes_a_batch_must_hold_one_task(tiny_tokenizer, window):
    with pytest.raises(ValueError, match="expected one task per batch"):
        DataCollatorForWordCRF(tiny_tokenizer)([dict(window, task="a"), dict(window, task="b")])
