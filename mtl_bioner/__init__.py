"""Biomedical NER with a CRF over XLNet or any BERT-family encoder: multi-task training (trainer, multitask,
sampling), data alignment, metrics, inference and publishing. The model itself lives in the self-contained
`modeling_xlnet_crf.py`.

The taggers are imported on first use, so that reading results or corpora does not load torch.
"""

import importlib
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from .inference import BioNERTagger, MultiTagger

__all__ = ["BioNERTagger", "MultiTagger"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module(".inference", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
