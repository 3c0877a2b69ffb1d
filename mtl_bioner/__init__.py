"""Biomedical NER with a CRF over XLNet or any BERT-family encoder, in rooms by stage:

- `mtl_bioner.tagging`: raw text to entities (the taggers, the `transformers` pipeline, `bioner-tag`);
- `mtl_bioner.training`: STL, MTL-XC and MTL-LS training and their evaluation protocols (`run_ner_mtl.py`);
- `mtl_bioner.study`: sweeps over seeds and slicing rates, the paper's tables, significance;
- `mtl_bioner.hub`: model cards and publishing; `mtl_bioner.vocabulary`: the names and files they share.

The model itself lives in the self-contained `modeling_xlnet_crf.py`, the corpora in `data_scripts`. The taggers are
imported on first use, so that reading results or corpora does not load torch.
"""

import importlib
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from .tagging.tagger import BioNERTagger, MultiTagger

__all__ = ["BioNERTagger", "MultiTagger"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module(".tagging.tagger", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
