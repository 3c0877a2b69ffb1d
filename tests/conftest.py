"""Shared fixtures: tiny models built from configs (nothing is downloaded) and an offline Hugging Face home."""

import os
import sys
import tempfile
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Set before anything imports datasets or transformers (they read it at import): remote-code modules and dataset
# caches of the tests stay out of the user's ~/.cache, and every session starts cold.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="xlnet_crf_mtl_tests_hf_home_")


DISEASE_LABELS = ["O", "B-Disease", "I-Disease"]


def tiny_crf_config(labels=DISEASE_LABELS, **overrides):
    """A 2-layer, 32-wide XLNet-CRF config: fast enough to run dozens of forward passes in a test."""
    from modeling_xlnet_crf import XLNetCRFConfig

    values = dict(
        vocab_size=64,
        d_model=32,
        n_layer=2,
        n_head=2,
        d_inner=64,
        dropout=0.0,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    values.update(overrides)
    return XLNetCRFConfig(**values)


@pytest.fixture
def tiny_config():
    return tiny_crf_config
