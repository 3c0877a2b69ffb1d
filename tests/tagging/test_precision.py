"""`BioNERTagger(quantize="int8" | "bf16")`: a reduced-precision encoder (int8 Linear layers, or bfloat16 autocast) with
the CRF in fp32, so decoding is the exact Viterbi path over the encoder's emissions."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from torch import nn
from utils import TINY_SENTENCES, TOY_TEXT

from mtl_bioner.tagging import alignment, precision
from mtl_bioner.tagging import windows as window_loop
from mtl_bioner.tagging.cli import main
from mtl_bioner.tagging.tagger import BioNERTagger


pytestmark = pytest.mark.usefixtures("single_torch_thread")
QUANTIZED_LINEAR = torch.ao.nn.quantized.dynamic.Linear

SHORT_SENTENCES = [
    "Familial ovarian cancer is rare .".split(),
    "Mice with breast cancer and polyposis .".split(),
    "The hypertensive patients were treated .".split(),
]


def short_sentence_batch(tagger) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """The windows of SHORT_SENTENCES as the tagger cuts them, and the model inputs of all of them in one batch."""
    pieces = alignment.word_pieces(SHORT_SENTENCES, tagger.tokenizer)
    prefix, suffix, budget = tagger._layout
    windows = [
        window
        for index, sentence in enumerate(pieces)
        for window in alignment.encode_words(sentence, None, index, prefix, suffix, budget, 128, -100)
    ]
    batch = tagger._collator([{key: window[key] for key in window_loop.MODEL_INPUTS} for window in windows])
    return windows, {key: batch[key] for key in window_loop.MODEL_INPUTS}


@pytest.fixture(scope="module")
def fp32_tagger(tiny_model_dir):
    return BioNERTagger.from_pretrained(tiny_model_dir, device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def int8_tagger(tiny_model_dir):
    return BioNERTagger.from_pretrained(tiny_model_dir, batch_size=4, quantize="int8")


@pytest.fixture(scope="module")
def bf16_tagger(tiny_model_dir):
    return BioNERTagger.from_pretrained(tiny_model_dir, device="cpu", batch_size=4, quantize="bf16")


def test_int8_tagger_tags_with_exact_offsets(int8_tagger):
    texts = [TOY_TEXT, "Café-au-lait spots and breast\u00a0cancer (BRCA1).\n\nNo entity here.", ""]
    results = int8_tagger(texts)
    assert int8_tagger.quantize == "int8" and int8_tagger.device.type == "cpu"
    assert results[0], "the int8 tagger found no entity in the toy text"
    assert results[2] == []
    for text, entities in zip(texts, results, strict=True):
        for entity in entities:
            assert entity["text"] == text[entity["start"] : entity["end"]]
            assert 0.0 < entity["score"] <= 1.0 + 1e-6


def test_encoder_linear_layers_are_quantized_except_the_down_projections(int8_tagger, fp32_tagger):
    model = int8_tagger.model
    quantized = [name for name, m in model.backbone.named_modules() if isinstance(m, QUANTIZED_LINEAR)]
    left_in_fp32 = [name for name, m in model.backbone.named_modules() if type(m) is nn.Linear]
    linear = {name: m for name, m in fp32_tagger.model.backbone.named_modules() if type(m) is nn.Linear}
    assert quantized == [name for name, m in linear.items() if m.in_features <= m.out_features]
    assert left_in_fp32 == [name for name, m in linear.items() if m.in_features > m.out_features]
    assert quantized and left_in_fp32  # the tiny XLNet has both: feed-forward up- and down-projections
    assert type(model.classifier) is nn.Linear and model.classifier.weight.dtype == torch.float32
    assert all(parameter.dtype == torch.float32 for parameter in model.crf.parameters())
    assert torch.backends.quantized.engine == precision.quantized_engine()


def _brute_force_viterbi(emissions: torch.Tensor, crf) -> list[int]:
    """The best tag sequence by scoring every sequence: independent of the CRF's own decoder."""
    start, transitions, end = crf._scores()
    num_tags = emissions.shape[-1]
    paths = torch.tensor(list(itertools.product(range(num_tags), repeat=len(emissions))))
    positions = torch.arange(len(emissions))
    scores = start[paths[:, 0]] + end[paths[:, -1]] + emissions[positions, paths].sum(-1)
    scores += transitions[paths[:, :-1], paths[:, 1:]].sum(-1)
    return paths[scores.argmax()].tolist()


def test_int8_predictions_are_the_viterbi_path_of_its_own_emissions(tiny_model_dir, fp32_tagger):
    tagger = BioNERTagger.from_pretrained(tiny_model_dir, quantize="int8")
    with torch.no_grad():  # strong random transitions, so that the best path is not the per-word argmax
        generator = torch.Generator().manual_seed(0)
        for parameter in tagger.model.crf.parameters():
            parameter.copy_(3 * torch.randn(parameter.shape, generator=generator))
    windows, inputs = short_sentence_batch(tagger)
    with torch.inference_mode():
        output = tagger.model(**inputs, output_marginals=True, return_dict=True)
        fp32_logits = fp32_tagger.model(**inputs, return_dict=True).logits
    assert output.logits.dtype == torch.float32
    assert not torch.equal(output.logits, fp32_logits), "quantization left the emissions unchanged"
    positions, _ = tagger.model.crf_positions(inputs["attention_mask"], word_ids=inputs["word_ids"])
    differs_from_argmax = False
    for row in range(len(windows)):
        tagged = positions[row]
        best = _brute_force_viterbi(output.logits[row, tagged], tagger.model.crf)
        assert output.predictions[row, tagged].tolist() == best
        assert bool((output.predictions[row, ~tagged] == -100).all())
        differs_from_argmax |= best != output.logits[row, tagged].argmax(-1).tolist()
    assert differs_from_argmax, "the check cannot tell Viterbi from a per-word argmax"
    # The tagger's loop (one batch here, so the same activation scales) reports exactly these tags per word.
    per_word = window_loop.predict_windows(
        tagger.model, windows, [len(words) for words in SHORT_SENTENCES], tagger._collator, batch_size=len(windows)
    )
    assert per_word == [[tag for tag in row if tag != -100] for row in output.predictions.tolist()]


def test_int8_entities_mostly_agree_with_fp32(int8_tagger, fp32_tagger):
    """A loose check on a 32-wide model: int8 rounding may flip a few borderline words, not the tagging."""
    sentences = [sentence.split() for sentence in dict.fromkeys(TINY_SENTENCES)] + SHORT_SENTENCES
    fp32 = [label for words in fp32_tagger.tag_words(sentences) for label, _ in words]
    int8 = [label for words in int8_tagger.tag_words(sentences) for label, _ in words]
    assert sum(a == b for a, b in zip(fp32, int8, strict=True)) >= 0.9 * len(fp32)
    fp32_spans = {(entity["start"], entity["end"], entity["type"]) for entity in fp32_tagger(TOY_TEXT)}
    int8_spans = {(entity["start"], entity["end"], entity["type"]) for entity in int8_tagger(TOY_TEXT)}
    assert fp32_spans and len(fp32_spans & int8_spans) >= 0.5 * len(fp32_spans | int8_spans)


def test_bf16_runs_the_encoder_in_bfloat16_and_the_crf_in_fp32(bf16_tagger, fp32_tagger):
    """Weights stay fp32 (autocast lowers each product), the encoder's Linear layers compute in bfloat16, and the tags
    are the fp32 Viterbi path over the emissions they give."""
    model = bf16_tagger.model
    assert all(parameter.dtype == torch.float32 for parameter in model.parameters())
    output_dtypes = set()
    first_linear = next(module for module in model.backbone.modules() if isinstance(module, nn.Linear))
    hook = first_linear.register_forward_hook(lambda module, inputs, output: output_dtypes.add(output.dtype))
    calls = []
    decode = model.crf.decode
    model.crf.decode = lambda emissions, mask: calls.append(emissions.dtype) or decode(emissions, mask)
    try:
        tagged = bf16_tagger.tag_words(SHORT_SENTENCES)
    finally:
        hook.remove()
        del model.crf.decode
    assert output_dtypes == {torch.bfloat16} and set(calls) == {torch.float32}
    assert [len(words) for words in tagged] == [len(words) for words in SHORT_SENTENCES]
    assert bf16_tagger.tag_words(SHORT_SENTENCES) == tagged
    # Autocast holds only inside the tagger: called directly, the model computes in fp32.
    with torch.inference_mode():
        logits = model(**short_sentence_batch(fp32_tagger)[1]).logits
    assert logits.dtype == torch.float32


def test_bf16_entities_mostly_agree_with_fp32(bf16_tagger, fp32_tagger):
    sentences = [sentence.split() for sentence in dict.fromkeys(TINY_SENTENCES)] + SHORT_SENTENCES
    fp32 = [label for words in fp32_tagger.tag_words(sentences) for label, _ in words]
    bf16 = [label for words in bf16_tagger.tag_words(sentences) for label, _ in words]
    assert sum(a == b for a, b in zip(fp32, bf16, strict=True)) >= 0.9 * len(fp32)
    assert bf16_tagger(TOY_TEXT) and all(
        entity["text"] == TOY_TEXT[entity["start"] : entity["end"]] for entity in bf16_tagger(TOY_TEXT)
    )


def test_bf16_warns_on_a_cpu_without_avx512(monkeypatch, caplog):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    with caplog.at_level("WARNING", logger="mtl_bioner.tagging.tagger"):
        precision.check_bf16_speed(torch.device("cpu"))
    assert "without AVX-512 (capability AVX2)" in caplog.text and "quantize='int8'" in caplog.text
    caplog.clear()
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    with caplog.at_level("WARNING", logger="mtl_bioner.tagging.tagger"):
        precision.check_bf16_speed(torch.device("cpu"))
    assert caplog.text == ""


@pytest.mark.parametrize("value", ["int4", "INT8", "fp16", True])
def test_bad_quantize_value_is_a_clear_error(tiny_model_dir, fp32_tagger, value):
    with pytest.raises(ValueError, match=r"quantize=.*expected None or one of \('int8', 'bf16'\)"):
        BioNERTagger.from_pretrained(tiny_model_dir, quantize=value)
    with pytest.raises(ValueError, match="expected None or one of"):
        BioNERTagger(fp32_tagger.model, fp32_tagger.tokenizer, quantize=value)


def test_engine_choice_and_no_quantized_engine_error():
    supported = torch.backends.quantized.supported_engines
    assert precision.quantized_engine() in supported and precision.quantized_engine() != "none"
    assert precision.quantized_engine(("no-such-engine", supported[-1])) == supported[-1]
    with pytest.raises(RuntimeError, match="quantized engines no-such-engine, but .* tag without --quantize"):
        precision.quantized_engine(("no-such-engine",))


def test_cli_quantize_flag(tiny_model_dir, int8_tagger, fp32_tagger, tmp_path, capsys):
    source = tmp_path / "doc.txt"
    source.write_text(TOY_TEXT, encoding="utf-8")
    arguments = ["--model", str(tiny_model_dir), "--input", str(source), "--no_progress"]
    assert main([*arguments, "--quantize", "int8"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["entities"] == int8_tagger(TOY_TEXT)
    assert main(arguments) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["entities"] == fp32_tagger(TOY_TEXT)
    assert main([*arguments, "--quantize", "bf16"]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["entities"] == BioNERTagger.from_pretrained(tiny_model_dir, quantize="bf16")(TOY_TEXT)
    with pytest.raises(SystemExit):
        main([*arguments, "--quantize", "int4"])
    assert "invalid choice: 'int4'" in capsys.readouterr().err


def test_cli_offers_the_tagger_modes():
    from mtl_bioner.tagging import cli

    assert cli.QUANTIZATION_MODES is precision.QUANTIZATION_MODES  # one definition, read by --help without torch
