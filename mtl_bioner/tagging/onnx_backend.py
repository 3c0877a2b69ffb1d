"""Tagging with ONNX Runtime: the checkpoint's encoder and emission layer exported as an ONNX graph, the CRF decoded
exactly as in PyTorch.

`export_onnx` writes `onnx/model.onnx` (fp32) beside a checkpoint's files, and `onnx/model.int8.onnx` with
`quantize="int8"`: dynamic int8 MatMuls (weights per output channel, activations per batch) except the emission
layer (`fp32_nodes`). Both have dynamic batch and sequence axes and take `input_ids` and `attention_mask`; they
return the emission `logits`. `OnnxCRFModel` runs such a graph and
hands its logits to the checkpoint's own CRF head (`decode_logits`), so tags are the exact Viterbi path and scores the
exact marginals over the graph's emissions; the tagger uses it like a PyTorch model.

`onnxruntime` and `onnx` are the optional extra `[onnx]`; their absence is a clear error, not an import failure.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path

import torch
from torch import nn
from transformers import AutoModelForTokenClassification, PreTrainedModel

from .alignment import load_tokenizer, register_model_classes


logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"
GRAPH_FILES = {None: "model.onnx", "int8": "model.int8.onnx"}
OPSET = 18
INPUT_NAMES = ("input_ids", "attention_mask")


def require(module: str):
    """Import an optional dependency of the ONNX backend, or say how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"the ONNX backend needs {module!r}: pip install 'xlnet-crf-mtl[onnx]' (onnx, onnxscript, onnxruntime)"
        ) from None


def graph_path(checkpoint: str | os.PathLike, quantize: str | None = None) -> Path:
    if quantize not in GRAPH_FILES:
        raise ValueError(f"quantize={quantize!r}: the ONNX backend offers {sorted(map(str, GRAPH_FILES))}")
    return Path(checkpoint) / ONNX_DIR / GRAPH_FILES[quantize]


class EmissionGraph(nn.Module):
    """What is exported: the encoder and the emission layer of a CRF model (`input_ids`, `attention_mask` -> fp32
    `logits`); the CRF stays out of the graph."""

    def __init__(self, model: PreTrainedModel):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits, _ = self.model._encode(input_ids, attention_mask, None, None, False, False)
        return logits.float()


def fp32_nodes(graph, *, down_projections: bool = False) -> list[str]:
    """The MatMul nodes the int8 graph keeps in fp32: the emission layer (its weight's output width is the number of
    labels, far below its input width), whose few outputs are the CRF's input; with `down_projections`, also the
    feed-forward down-projections (every weight with more inputs than outputs), as PyTorch's int8 path does.

    Chosen by measurement on the demo's NCBI-disease model (BENCHMARKS.md, on a CPU without AMX): ONNX Runtime's int8
    kernels keep F1 with the down-projections quantized too, and keeping them in fp32 cost a third of the speed.
    """
    shapes = {initializer.name: tuple(initializer.dims) for initializer in graph.initializer}
    weights = {}
    for node in graph.node:
        weight = next((shapes[name] for name in node.input[1:2] if name in shapes), None)
        if node.op_type in ("MatMul", "Gemm") and weight is not None and len(weight) == 2:
            weights[node.name] = (weight[1], weight[0]) if node.op_type == "Gemm" else weight
    narrowest = min((outputs for _, outputs in weights.values()), default=None)
    return [
        name
        for name, (inputs, outputs) in weights.items()
        if outputs == narrowest or (down_projections and inputs > outputs)
    ]


def export_onnx(
    checkpoint: str | os.PathLike,
    *,
    quantize: str | None = None,
    keep_in_fp32: list[str] | None = None,
    tolerance: float = 1e-4,
) -> list[Path]:
    """Write the checkpoint's ONNX graph(s) into `<checkpoint>/onnx/` and return their paths.

    torch's two exporters are tried in turn (`torch.export`'s, then TorchScript's: each family exports with at least
    one, and a traced graph can silently drop a branch of transformers' mask code), and the first graph whose emissions
    match PyTorch's within `tolerance` on two batches of other shapes is kept. `keep_in_fp32` names the MatMul nodes
    the int8 graph keeps in fp32 (default: `fp32_nodes`).
    """
    onnx = require("onnx")
    require("onnxscript")  # torch's exporter writes the graph with it
    require("onnxruntime")
    checkpoint = Path(checkpoint)
    if quantize not in GRAPH_FILES:
        raise ValueError(f"quantize={quantize!r}, expected None or 'int8'")
    register_model_classes()
    graph = EmissionGraph(AutoModelForTokenClassification.from_pretrained(checkpoint, use_safetensors=True).eval())
    tokenizer = load_tokenizer(str(checkpoint))
    texts = ["Germline mutations predispose to breast cancer .", "A short one .", "BRCA1"]
    batches = [
        tokenizer(texts[:2], padding=True, return_tensors="pt"),
        tokenizer(texts, padding=True, return_tensors="pt"),
    ]
    samples = [(batch["input_ids"], batch["attention_mask"]) for batch in batches]
    fp32 = graph_path(checkpoint)
    fp32.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for exporter in ("torch.export", "torchscript"):
        try:
            _export(graph, samples[0], fp32, dynamo=exporter == "torch.export")
            onnx.checker.check_model(str(fp32))
        except Exception as error:  # an exporter that cannot handle this family: the next one may
            failures.append(f"{exporter}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            continue
        session = OnnxCRFModel.session(fp32, threads=1)
        with torch.no_grad():
            difference = max(
                float(abs(session.run(["logits"], _feed(*sample))[0] - graph(*sample).numpy()).max())
                for sample in samples
            )
        if difference <= tolerance:
            break
        failures.append(f"{exporter}: emissions differ from PyTorch's by {difference:.2e}")
    else:
        fp32.unlink(missing_ok=True)
        raise RuntimeError(f"{checkpoint}: no exporter gave a faithful graph ({'; '.join(failures)})")
    written = [fp32]
    if quantize == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        excluded = fp32_nodes(onnx.load(str(fp32)).graph) if keep_in_fp32 is None else keep_in_fp32
        int8 = graph_path(checkpoint, "int8")
        quantize_dynamic(
            str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=excluded
        )
        written.append(int8)
    logger.info("wrote %s (emissions within %.1e of PyTorch)", ", ".join(map(str, written)), difference)
    return written


def _export(graph: EmissionGraph, sample: tuple[torch.Tensor, torch.Tensor], path: Path, *, dynamo: bool) -> None:
    """One of torch's exporters, with dynamic batch and sequence axes."""
    if dynamo:
        batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
        axes = {"dynamic_shapes": {name: {0: batch, 1: sequence} for name in INPUT_NAMES}, "verbose": False}
    else:
        axes = {"dynamic_axes": {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, "logits")}}
    with torch.no_grad():
        torch.onnx.export(
            graph,
            sample,
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=["logits"],
            opset_version=OPSET,
            dynamo=dynamo,
            **axes,
        )


def _feed(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict:
    return {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}


def onnx_graph(name_or_path: str, quantize: str | None = None) -> Path:
    """The ONNX graph of a checkpoint: a local folder's, exported on the fly when it has none; a Hub repository's,
    downloaded when it carries one (`bioner-export` writes it, a push uploads it)."""
    path = graph_path(name_or_path, quantize)
    if os.path.isdir(name_or_path):
        if not path.is_file():
            logger.warning("%s has no %s: exporting it now (bioner-export does it ahead of time)", name_or_path, path)
            export_onnx(name_or_path, quantize=quantize)
        return path
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(name_or_path, f"{ONNX_DIR}/{GRAPH_FILES[quantize]}"))
    except EntryNotFoundError:
        raise FileNotFoundError(
            f"{name_or_path} carries no {ONNX_DIR}/{GRAPH_FILES[quantize]}: export it with `bioner-export <checkpoint>"
            f"{' --quantize int8' if quantize else ''}` and push it with the checkpoint, or use backend='torch'"
        ) from None


class OnnxCRFModel:
    """A CRF model whose encoder runs in ONNX Runtime: called like the PyTorch model by the tagger's window loop
    (`windows.predict_windows`), it returns the same output type, decoded by the checkpoint's own CRF head."""

    def __init__(self, model: PreTrainedModel, graph: str | os.PathLike, *, threads: int | None = None):
        self.model = model.eval()
        self.graph = Path(graph)
        self.config = model.config
        self.crf_positions = model.crf_positions
        self._session = self.session(self.graph, threads=threads)

    @staticmethod
    def session(graph: str | os.PathLike, *, threads: int | None = None):
        onnxruntime = require("onnxruntime")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])

    def parameters(self):
        return self.model.parameters()

    def eval(self) -> OnnxCRFModel:
        return self

    def __call__(self, input_ids, attention_mask=None, word_ids=None, output_marginals=False, return_dict=True):
        (logits,) = self._session.run(["logits"], _feed(input_ids.cpu(), attention_mask.cpu()))
        return self.model.decode_logits(
            torch.from_numpy(logits),
            attention_mask=attention_mask,
            word_ids=word_ids,
            output_marginals=output_marginals,
        )


__all__ = ["GRAPH_FILES", "ONNX_DIR", "OnnxCRFModel", "export_onnx", "fp32_nodes", "graph_path", "onnx_graph"]
