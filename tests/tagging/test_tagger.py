from __future__ import annotations

import shutil

import pytest
import torch
from utils import TOY_TEXT

from mtl_bioner.tagging.entities import sentence_entities
from mtl_bioner.tagging.tagger import BioNERTagger, MultiTagger
from mtl_bioner.tagging.text import Word, model_form, split_sentences, tokenize


pytestmark = pytest.mark.usefixtures("single_torch_thread")

AWKWARD_TEXTS = [
    "",
    "   \n\t  ",
    "\u200b\u200b",
    TOY_TEXT,
    "Mutations in BRCA\u200b1 cause breast and ovarian can\u00adcer.",  # zero-width space, soft hyphen
    "Ataxia-telangiectasia (A-T) maps to 11q22-q23 (ref. 3); IL-2/IL-4 at 2.5 mg/kg.",
    "The ovarian\tcancer and\nbreast\r\ncancer were\u00a0seen.",  # tabs and line breaks inside a sentence
    "Café-au-lait spots, naïve T cells, e\u0301clat, β-catenin and 🧬👍🏽 👨\u200d👩\u200d👧 emoji (ovarian cancer).",
    "\ufeffBOM first. Then e.g. Fig. 2 and J. Smith et al. found ovarian cancer!\n\nNew paragraph?  Yes.",
    "ovarian cancer" * 3 + " " + "x" * 300,  # a long unbroken word
]


def check_entities(text, entities):
    previous_start = -1
    for entity in entities:
        assert set(entity) >= {"start", "end", "text", "type", "score"}
        assert 0 <= entity["start"] < entity["end"] <= len(text)
        assert entity["text"] == text[entity["start"] : entity["end"]]
        assert entity["start"] >= previous_start
        assert 0.0 < entity["score"] <= 1.0 + 1e-6
        previous_start = entity["start"]


@pytest.fixture(scope="module")
def tagger(tiny_model_dir):
    return BioNERTagger.from_pretrained(tiny_model_dir, device="cpu", batch_size=4)


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_words_round_trip_offsets(text):
    words = [word for sentence in split_sentences(text) for word in sentence]
    assert words == tokenize(text)
    previous_end = 0
    for word in words:
        span = text[word.start : word.end]
        assert word.start >= previous_end and span and not span[0].isspace() and not any(c.isspace() for c in span)
        assert word.form == model_form(span) and word.form
        previous_end = word.end
    # Everything between words is whitespace or stray invisible characters.
    covered = set().union(*(range(w.start, w.end) for w in words)) if words else set()
    assert all(text[i].isspace() or model_form(text[i]) == "" for i in range(len(text)) if i not in covered)


def test_tokenization_follows_the_corpora():
    text = "Ataxia-telangiectasia (A-T) at 11q22-q23, 2.5 mg."
    assert [w.form for w in tokenize(text)] == [
        "Ataxia",
        "-",
        "telangiectasia",
        "(",
        "A",
        "-",
        "T",
        ")",
        "at",
        "11q22",
        "-",
        "q23",
        ",",
        "2",
        ".",
        "5",
        "mg",
        ".",
    ]
    assert [w.form for w in tokenize("BRCA\u200b1 thala\u00adssemia")] == [
        "BRCA1",
        "thalassemia",
    ]
    sentences = split_sentences(
        "See e.g. Fig. 2 by J. Smith et al. here. Next\none, in\tbreast\r\ncancer.\nSame one.\n\nlower case start"
    )
    assert [" ".join(w.form for w in s) for s in sentences] == [
        "See e . g . Fig . 2 by J . Smith et al . here .",
        "Next one , in breast cancer .",
        "Same one .",
        "lower case start",
    ]


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_entity_offsets_are_exact(tagger, text):
    check_entities(text, tagger(text))


def test_finds_entities_and_batches_consistently(tagger, tiny_model_dir):
    entities = tagger(TOY_TEXT)
    assert "ovarian cancer" in [e["text"] for e in entities] and {e["type"] for e in entities} == {"Disease"}
    batched = tagger(AWKWARD_TEXTS)
    one_by_one = BioNERTagger.from_pretrained(tiny_model_dir, device="cpu", batch_size=1)
    for text, got in zip(AWKWARD_TEXTS, batched, strict=True):
        expected = one_by_one(text)
        assert [(e["start"], e["end"], e["type"]) for e in got] == [
            (e["start"], e["end"], e["type"]) for e in expected
        ]
        assert [e["score"] for e in got] == pytest.approx([e["score"] for e in expected], abs=1e-4)


def test_invisible_characters_do_not_change_predictions(tagger):
    plain = "The BRCA1 gene is mutated in familial breast and ovarian cancer and the tumour suppressor."
    marked = "The BRCA\u200b1 gene is mutated in familial breast and ovar\u00adian can\u200bcer and the tu\u2060mour suppressor."
    got, expected = tagger(marked), tagger(plain)
    assert "ovarian cancer" in [e["text"] for e in expected]
    assert "ovar\u00adian can\u200bcer" in [e["text"] for e in got]
    assert [model_form(e["text"]) for e in got] == [e["text"] for e in expected]
    assert [e["score"] for e in got] == pytest.approx([e["score"] for e in expected], abs=1e-5)


def test_long_sentences_are_windowed(tiny_model_dir):
    small = BioNERTagger.from_pretrained(tiny_model_dir, device="cpu", max_seq_length=16, stride=4)
    text = " , ".join(["familial breast and ovarian cancer"] * 20)  # one 180-word sentence, many windows
    entities = small(text)
    check_entities(text, entities)
    assert sum(e["text"] == "ovarian cancer" for e in entities) >= 15


def test_hundred_thousand_characters(tagger):
    text = (TOY_TEXT + " ") * (100_000 // (len(TOY_TEXT) + 1) + 1)
    text = text[:100_000]
    entities = tagger(text)
    check_entities(text, entities)
    assert len(entities) > 100


def test_scores_are_crf_marginals(tagger):
    words = ["familial", "breast", "and", "ovarian", "cancer"]
    (tagged,) = tagger.tag_words([words])
    model, tokenizer = tagger.model, tagger.tokenizer
    encoding = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    word_ids = torch.tensor([[-1 if w is None else w for w in encoding.word_ids(0)]])
    with torch.no_grad():
        output = model(**encoding, word_ids=word_ids)
    positions = output.predictions[0] >= 0
    # Brute force: enumerate every tag path of the 5 words and sum the normalised path probabilities.
    emissions = output.logits[0][positions].float()
    crf = model.crf
    import itertools

    paths = list(itertools.product(range(emissions.shape[1]), repeat=len(words)))
    scores = torch.stack(
        [
            crf.start_transitions[p[0]]
            + crf.end_transitions[p[-1]]
            + sum(emissions[i, t] for i, t in enumerate(p))
            + sum(crf.transitions[a, b] for a, b in zip(p, p[1:]))
            for p in paths
        ]
    ).detach()
    probabilities = torch.softmax(scores, 0)
    best = paths[int(scores.argmax())]
    assert [tagger.id2label[t] for t in best] == [label for label, _ in tagged]
    for index, (label, probability) in enumerate(tagged):
        tag = tagger.model.config.label2id[label]
        expected = sum(float(p) for path, p in zip(paths, probabilities) if path[index] == tag)
        assert probability == pytest.approx(expected, abs=1e-4)


def test_x_label_scheme(tiny_tokenizer, tmp_path):
    from utils import tiny_crf_config

    from modeling_xlnet_crf import XLNetForTokenClassificationCRF

    torch.manual_seed(0)
    config = tiny_crf_config(
        labels=["O", "B-Disease", "I-Disease", "X"],
        label_scheme="x",
        vocab_size=len(tiny_tokenizer),
        pad_token_id=tiny_tokenizer.pad_token_id,
    )
    model = XLNetForTokenClassificationCRF(config).eval()
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.0, 1.0, 1.5, 0.0]))
    entities = BioNERTagger(model, tiny_tokenizer)(TOY_TEXT)
    check_entities(TOY_TEXT, entities)
    assert entities and {e["type"] for e in entities} == {"Disease"}


def test_bio_and_bioes_decoding():
    text = "a b c d e f"
    words = [Word(i * 2, i * 2 + 1, text[i * 2]) for i in range(6)]
    tags = [
        ("B-Gene", 0.5),
        ("I-Gene", 1.0),
        ("I-Chem", 1.0),
        ("O", 1.0),
        ("S-Gene", 1.0),
        ("E-Gene", 1.0),
    ]
    assert [(e["text"], e["type"], e["score"]) for e in sentence_entities(text, words, tags)] == [
        ("a b", "Gene", 0.75),
        ("c", "Chem", 1.0),
        ("e", "Gene", 1.0),
        ("f", "Gene", 1.0),
    ]


def test_multi_tagger_overlap_policies(tagger):
    single = tagger(TOY_TEXT)
    keep = MultiTagger({"a": tagger, "b": tagger})(TOY_TEXT)
    assert len(keep) == 2 * len(single) and all(e["overlapping"] for e in keep)
    assert {e["model"] for e in keep} == {"a", "b"}
    resolved = MultiTagger({"a": tagger, "b": tagger}, overlaps="resolve")(TOY_TEXT)
    assert [(e["start"], e["end"], e["model"]) for e in resolved] == [(e["start"], e["end"], "a") for e in single]
    with pytest.raises(ValueError, match="overlaps"):
        MultiTagger([tagger], overlaps="union")


def test_from_pretrained_with_several_paths(tiny_model_dir):
    multi = BioNERTagger.from_pretrained([tiny_model_dir, tiny_model_dir], device="cpu", overlaps="resolve")
    assert isinstance(multi, MultiTagger) and len(multi.taggers) == 2
    check_entities(TOY_TEXT, multi(TOY_TEXT))


def test_bad_input_types(tagger):
    with pytest.raises(TypeError, match="text 1 is a int"):
        tagger(["fine", 3])


def test_missing_or_corrupt_checkpoints(tiny_model_dir, tmp_path, monkeypatch):
    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load must never be called")

    monkeypatch.setattr(torch, "load", no_unpickling)
    with pytest.raises(OSError, match="Could not load"):
        BioNERTagger.from_pretrained(tmp_path / "does-not-exist", device="cpu")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        BioNERTagger.from_pretrained(empty)
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(FileNotFoundError, match="pickled weights are never loaded"):
        BioNERTagger.from_pretrained(pickled)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_model_dir, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(OSError, match="Could not load a CRF checkpoint"):
        BioNERTagger.from_pretrained(corrupt, device="cpu")
    bad_config = tmp_path / "bad_config"
    shutil.copytree(tiny_model_dir, bad_config)
    (bad_config / "config.json").write_text("{not json")
    with pytest.raises(OSError, match="Could not load"):
        BioNERTagger.from_pretrained(bad_config, device="cpu")
