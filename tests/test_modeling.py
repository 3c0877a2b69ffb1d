"""XLNetForTokenClassificationCRF: padding invariance, label schemes, save/load, Auto classes and remote code."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification
from utils import tiny_crf_config

from modeling_xlnet_crf import TokenClassifierCRFOutput, XLNetCRFConfig, XLNetForTokenClassificationCRF


def sentence_batch(pad_side, label_scheme="first", x_id=None):
    """Two sentences as (pieces per word, tags per word), padded on one side, with labels and word_ids."""
    sentences = [
        ([[11, 12], [13], [14, 15, 16], [17]], [0, 1, 2, 0]),
        ([[21], [22, 23]], [1, 0]),
    ]
    sep, cls, pad = 4, 3, 5
    rows = []
    for words, tags in sentences:
        ids, labels, word_ids = [], [], []
        for index, (pieces, tag) in enumerate(zip(words, tags)):
            for k, piece in enumerate(pieces):
                ids.append(piece)
                word_ids.append(index)
                if k == 0:
                    labels.append(tag)
                else:
                    labels.append(x_id if label_scheme == "x" else -100)
        rows.append((ids + [sep, cls], labels + [-100, -100], word_ids + [-1, -1]))
    width = max(len(ids) for ids, _, _ in rows)
    batch = {"input_ids": [], "attention_mask": [], "labels": [], "word_ids": []}
    for ids, labels, word_ids in rows:
        padding = width - len(ids)

        def pad_row(values, fill):
            return [fill] * padding + values if pad_side == "left" else values + [fill] * padding

        batch["input_ids"].append(pad_row(ids, pad))
        batch["attention_mask"].append(pad_row([1] * len(ids), 0))
        batch["labels"].append(pad_row(labels, -100))
        batch["word_ids"].append(pad_row(word_ids, -1))
    return {key: torch.tensor(value) for key, value in batch.items()}


def word_level(values, word_ids):
    """Per row, the values at the first piece of each word."""
    out = []
    for row_values, row_words in zip(values.tolist(), word_ids.tolist()):
        previous, row = -1, []
        for value, word in zip(row_values, row_words):
            if word >= 0 and word != previous:
                row.append(value)
            previous = word
        out.append(row)
    return out


@pytest.mark.parametrize("label_scheme", ["first", "x"])
def test_left_and_right_padding_give_the_same_loss_and_predictions(label_scheme):
    labels = ["O", "B-Disease", "I-Disease"] + (["X"] if label_scheme == "x" else [])
    torch.manual_seed(0)
    model = XLNetForTokenClassificationCRF(tiny_crf_config(labels, label_scheme=label_scheme, crf_constraints="BIO"))
    model.eval()
    x_id = model.config.label2id.get("X")
    results = {}
    for side in ("left", "right"):
        batch = sentence_batch(side, label_scheme, x_id)
        with torch.no_grad():
            with_labels = model(**batch)
            without_labels = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], word_ids=batch["word_ids"]
            )
        assert isinstance(with_labels, TokenClassifierCRFOutput)
        assert torch.equal(with_labels.predictions, without_labels.predictions)
        # Predictions sit exactly where word labels sit: first pieces only, -100 elsewhere.
        first_piece = (batch["labels"] != -100) & (batch["labels"] != (x_id if x_id is not None else -1))
        assert torch.equal(with_labels.predictions != -100, first_piece)
        results[side] = (with_labels.loss, word_level(with_labels.predictions, batch["word_ids"]))
    torch.testing.assert_close(results["left"][0], results["right"][0], atol=1e-4, rtol=1e-4)
    assert results["left"][1] == results["right"][1]


def test_the_crf_runs_in_fp32_under_bf16_autocast():
    """Mixed precision (a bf16 tagger, bf16/fp16 training) lowers the encoder only: loss, tags and marginals are the
    fp32 CRF's over the emissions the encoder gave."""
    torch.manual_seed(0)
    model = XLNetForTokenClassificationCRF(tiny_crf_config()).eval()
    with torch.no_grad():  # transitions strong enough that reduced-precision recursions would change the numbers
        for parameter in model.crf.parameters():
            parameter.copy_(3 * torch.randn(parameter.shape))
    batch = sentence_batch("right")
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        output = model(**batch, output_marginals=True)
    assert output.logits.dtype == torch.bfloat16, "the encoder did not run under autocast"
    emissions = output.logits.float()
    positions, _ = model.crf_positions(batch["attention_mask"], batch["labels"], batch["word_ids"])
    with torch.no_grad():
        assert output.loss.dtype == output.marginals.dtype == torch.float32
        assert torch.equal(output.loss, model.crf(emissions, batch["labels"], positions, reduction="mean"))
        assert torch.equal(output.predictions, model.crf.decode(emissions, positions))
        assert torch.equal(output.marginals, model.crf.marginals(emissions, positions))


def test_x_scheme_trains_x_as_a_real_state_on_continuation_pieces():
    labels = ["O", "B-Disease", "I-Disease", "X"]
    model = XLNetForTokenClassificationCRF(tiny_crf_config(labels, label_scheme="x"))
    batch = sentence_batch("right", "x", model.config.label2id["X"])
    model.train()
    output = model(**batch)
    assert output.predictions is None  # no Viterbi pass in training steps
    output.loss.backward()
    assert model.crf.transitions.grad[:, 3].abs().sum() > 0  # transitions into X are learned


def test_labels_on_positions_the_crf_does_not_tag_are_rejected():
    model = XLNetForTokenClassificationCRF(tiny_crf_config()).eval()
    batch = sentence_batch("right")
    batch["labels"][0, 1] = 0  # a continuation piece of word 0
    with pytest.raises(ValueError, match=r"labels\[0, 1\] = 0 sits on a position the CRF does not tag"):
        model(**batch)


def test_config_validation():
    with pytest.raises(ValueError, match="label_scheme"):
        XLNetCRFConfig(label_scheme="bert")
    with pytest.raises(ValueError, match="crf_constraints"):
        XLNetCRFConfig(crf_constraints="IOBES2")
    with pytest.raises(ValueError, match="needs the label 'X'"):
        tiny_crf_config(label_scheme="x")


def test_save_load_round_trip_and_auto_classes(tmp_path):
    torch.manual_seed(0)
    model = XLNetForTokenClassificationCRF(tiny_crf_config(crf_constraints="BIO")).eval()
    model.save_pretrained(tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "model.safetensors" in files and "modeling_xlnet_crf.py" in files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model_type"] == "xlnet-crf"
    assert config["auto_map"] == {
        "AutoConfig": "modeling_xlnet_crf.XLNetCRFConfig",
        "AutoModel": "modeling_xlnet_crf.XLNetForTokenClassificationCRF",
        "AutoModelForTokenClassification": "modeling_xlnet_crf.XLNetForTokenClassificationCRF",
    }
    assert isinstance(AutoConfig.from_pretrained(tmp_path), XLNetCRFConfig)
    batch = sentence_batch("left")
    with torch.no_grad():
        expected = model(**batch)
    for auto_class in (AutoModelForTokenClassification, AutoModel):
        loaded = auto_class.from_pretrained(tmp_path).eval()
        assert type(loaded) is XLNetForTokenClassificationCRF
        assert loaded.crf.allowed() is not None
        with torch.no_grad():
            output = loaded(**batch)
        torch.testing.assert_close(output.loss, expected.loss)
        assert torch.equal(output.predictions, expected.predictions)


def test_trust_remote_code_loads_in_a_process_that_never_imported_the_package(tmp_path):
    torch.manual_seed(0)
    model = XLNetForTokenClassificationCRF(tiny_crf_config()).eval()
    model.save_pretrained(tmp_path / "checkpoint")
    batch = sentence_batch("left")
    with torch.no_grad():
        expected = model(**batch).predictions.tolist()
    script = f"""
import json, sys, torch
from transformers import AutoModelForTokenClassification
assert "modeling_xlnet_crf" not in sys.modules
model = AutoModelForTokenClassification.from_pretrained({str(tmp_path / "checkpoint")!r}, trust_remote_code=True).eval()
batch = {{k: torch.tensor(v) for k, v in json.loads(sys.argv[1]).items()}}
with torch.no_grad():
    print(json.dumps([type(model).__module__.startswith("transformers_modules"), model(**batch).predictions.tolist()]))
"""
    payload = json.dumps({k: v.tolist() for k, v in batch.items()})
    result = subprocess.run(
        [sys.executable, "-c", script, payload], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    remote, predictions = json.loads(result.stdout.strip().splitlines()[-1])
    assert remote and predictions == expected


def test_gradient_accumulation_is_scaled_by_the_trainer():
    assert XLNetForTokenClassificationCRF.accepts_loss_kwargs is False
