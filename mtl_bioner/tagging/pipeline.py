"""A `token-classification` pipeline for CRF checkpoints (XLNet or any encoder) that returns the CRF's entities, not an argmax.

transformers' `TokenClassificationPipeline` takes a softmax and an argmax over `logits`; for a CRF model those are
emission scores, so its tags ignore the transitions and its scores are not probabilities of anything decoded. This
pipeline runs `BioNERTagger` instead: Viterbi tags, CRF-marginal scores, exact character offsets, sentence windows.

A checkpoint prepared with `remote_code.add_pipeline_code` declares it in `config.json` (`custom_pipelines`) and
carries this file and its imports, so that plain transformers resolves it:

    pipeline("token-classification", model=folder_or_hub_id, trust_remote_code=True)

With this package imported, pass the class instead of trusting remote code:

    pipeline("token-classification", model=folder, pipeline_class=XLNetCRFTokenClassificationPipeline)

Output per text: `[{"entity_group", "score", "word", "start", "end"}]`, the keys of the standard pipeline with
`aggregation_strategy="simple"`; `word == text[start:end]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from transformers import AutoModelForTokenClassification, Pipeline

from .entities import Entity
from .tagger import BioNERTagger, check_texts


PIPELINE_TASK = "token-classification"


def _as_pipeline_entity(entity: Entity) -> dict[str, Any]:
    return {
        "entity_group": entity["type"],
        "score": entity["score"],
        "word": entity["text"],
        "start": entity["start"],
        "end": entity["end"],
    }


class XLNetCRFTokenClassificationPipeline(Pipeline):
    """Named entities from a CRF model (XLNet or any encoder): Viterbi decoding, CRF-marginal scores, character offsets.

    Call parameters (also accepted by `pipeline(...)`): `max_seq_length` (pieces per window, default 512), `stride`
    (overlap of windows in pieces, default 128); `batch_size` counts windows per forward pass (default 32).
    """

    _load_tokenizer = True
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False

    def _sanitize_parameters(self, max_seq_length: int | None = None, stride: int | None = None, **kwargs):
        if kwargs:
            raise TypeError(f"Unexpected argument(s) {sorted(kwargs)}; this pipeline accepts max_seq_length, stride")
        forward = {}
        if max_seq_length is not None:
            forward["max_seq_length"] = max_seq_length
        if stride is not None:
            forward["stride"] = stride
        return {}, forward, {}

    def _tagger(self, max_seq_length: int = 512, stride: int = 128, batch_size: int | None = None) -> BioNERTagger:
        return BioNERTagger(
            self.model,
            self.tokenizer,
            batch_size=batch_size or self._batch_size or 32,
            max_seq_length=max_seq_length,
            stride=stride,
        )

    def __call__(
        self, inputs: str | Iterable[str], batch_size: int | None = None, **kwargs
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]]:
        """Entities of one text, or one list per text: all sentences of all texts are batched together, `batch_size`
        windows per forward pass."""
        _, forward, _ = self._sanitize_parameters(**kwargs)
        documents, single = check_texts(inputs)
        tagged = self._tagger(**{**self._forward_params, **forward}, batch_size=batch_size)(documents)
        results = [[_as_pipeline_entity(entity) for entity in entities] for entities in tagged]
        return results[0] if single else results

    # The Pipeline interface, for callers that drive the steps themselves (`run_single`, iterators).
    def preprocess(self, inputs: str, **_) -> dict[str, Any]:
        check_texts([inputs])
        return {"text": inputs}

    def _forward(self, model_inputs: dict[str, Any], max_seq_length: int = 512, stride: int = 128) -> dict[str, Any]:
        return {"entities": self._tagger(max_seq_length, stride)(model_inputs["text"])}

    def postprocess(self, model_outputs: dict[str, Any], **_) -> list[dict[str, Any]]:
        return [_as_pipeline_entity(entity) for entity in model_outputs["entities"]]


# What `Pipeline.save_pretrained` writes to `custom_pipelines`; set here rather than through PIPELINE_REGISTRY, which
# would replace the built-in token-classification pipeline for every model in the process.
XLNetCRFTokenClassificationPipeline._registered_impl = {
    PIPELINE_TASK: {
        "impl": XLNetCRFTokenClassificationPipeline,
        "pt": (AutoModelForTokenClassification,),
    }
}


__all__ = ["PIPELINE_TASK", "XLNetCRFTokenClassificationPipeline"]
