"""How the tagger runs the encoder: with PyTorch (fp32, int8 Linear layers via `quantize_encoder`, or bfloat16
autocast) or as an ONNX graph in ONNX Runtime (`onnx_backend`: fp32 or int8). Either way the emission layer's output
and the CRF stay fp32, so decoding is exact.

The mode names need no torch (the command line's `--help` reads them); torch is imported where a mode is applied.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence


logger = logging.getLogger(__name__)

# int8: dynamically quantized encoder Linear layers (CPU). bf16: the encoder under bfloat16 autocast (CPUs with AMX or
# AVX512-BF16 units, GPUs). Either way the emission layer's output and the CRF are fp32, so decoding is exact.
QUANTIZATION_MODES = ("int8", "bf16")
# Reduced precision that needs a CPU (int8 kernels have no GPU path here); bf16 runs wherever autocast does.
CPU_ONLY_MODES = ("int8",)
# What runs the encoder: PyTorch, or its exported graph in ONNX Runtime (`onnx_backend`), which offers fp32 and int8.
BACKENDS = ("torch", "onnx")
ONNX_MODES = ("int8",)
# Kernels for dynamically quantized Linear layers, best first. oneDNN's use the VNNI/AMX int8 instructions that CPUs with
# AVX-512 usually have (on a Xeon with AMX: 2.1x the fp32 encoder's speed, x86 and fbgemm 1.6x); elsewhere on x86 the
# x86 engine (fbgemm for dynamic Linear layers), and qnnpack on ARM.
QUANTIZED_ENGINES = ("x86", "fbgemm", "qnnpack")
AVX512_QUANTIZED_ENGINES = ("onednn", *QUANTIZED_ENGINES)


def quantized_engine(preferred: Sequence[str] | None = None) -> str:
    """The first engine of `preferred` (default: the best for this CPU) that this torch build supports."""
    import torch

    if preferred is None:
        avx512 = torch.backends.cpu.get_cpu_capability().startswith("AVX512")
        preferred = AVX512_QUANTIZED_ENGINES if avx512 else QUANTIZED_ENGINES
    supported = torch.backends.quantized.supported_engines
    for engine in preferred:
        if engine in supported:
            return engine
    raise RuntimeError(
        f"int8 quantization needs one of the quantized engines {', '.join(preferred)}, but this torch build "
        f"supports only {', '.join(supported)}: tag without --quantize"
    )


def quantize_encoder(model) -> None:
    """Make the encoder's `nn.Linear` layers int8 (weights per output channel, once; activations per batch), in place,
    except the feed-forward down-projections (the Linear layers with more inputs than outputs).

    Those read the feed-forward block's activated width, whose few large outliers make one activation scale per batch
    too coarse: on the demo's MiniLM NCBI-disease model, quantizing every Linear layer cost 0.58 F1 on NCBI-disease
    test, keeping the down-projections in fp32 cost 0.17 (per-channel weight scales already; one scale per matrix cost
    more). The emission layer and the CRF stay in fp32, so tags are the exact Viterbi path and scores the exact
    marginals over the emissions the quantized encoder gives. Activation scales are computed per batch, so a window's
    tags may depend on the windows batched with it. The quantized engine is chosen explicitly for the whole process:
    the default is not always the fastest one this CPU has.
    """
    import torch
    from torch import nn

    torch.backends.quantized.engine = quantized_engine()
    with warnings.catch_warnings():
        # torch marks eager-mode quantization as deprecated in favour of torchao (not a dependency); the call works.
        warnings.filterwarnings(
            "ignore", message=r"torch\.ao\.quantization is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_(tensor|channel)", category=UserWarning)
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        quantized = {
            name: per_channel_dynamic_qconfig
            for name, module in model.backbone.named_modules()
            if isinstance(module, nn.Linear) and module.in_features <= module.out_features
        }
        quantize_dynamic(model.backbone, quantized, dtype=torch.qint8, inplace=True)


def check_bf16_speed(device) -> None:
    """Warn when bf16 would run on a CPU without native bfloat16 kernels: oneDNN then emulates them, slower than fp32."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    if device.type == "cpu" and not capability.startswith("AVX512"):
        logger.warning(
            "quantize='bf16' on a CPU without AVX-512 (capability %s): bfloat16 matrix products are emulated and "
            "usually slower than fp32; quantize='int8' is the faster choice here",
            capability,
        )


__all__ = [
    "BACKENDS",
    "CPU_ONLY_MODES",
    "ONNX_MODES",
    "QUANTIZATION_MODES",
    "check_bf16_speed",
    "quantize_encoder",
    "quantized_engine",
]
