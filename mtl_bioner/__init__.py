"""XLNet-CRF for biomedical NER: multi-task training (trainer, multitask, sampling), data alignment, metrics,
inference and publishing. The model itself lives in the self-contained `modeling_xlnet_crf.py`."""

from .inference import BioNERTagger, MultiTagger


__all__ = ["BioNERTagger", "MultiTagger"]
