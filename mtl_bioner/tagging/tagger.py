"""Tag raw text with CRF checkpoints (XLNet or any encoder): exact character offsets, batched windows, Viterbi tags,
CRF marginals.

Documents are split into sentences and words by `text.split_sentences` (offsets into the original string), each
sentence is cut into windows by `alignment` exactly as in training, windows of all documents are sorted by length and
run in batches (`windows.predict_windows`), and each word takes its tag from the window where it has most context.
Tags are the model's Viterbi predictions; an entity's `score` is the CRF marginal probability of the predicted tag,
averaged over the entity's words.

This module and the ones it imports travel with every exported checkpoint as remote code (`remote_code`): they import
each other relatively, the tag reader from `data_scripts.schemes`, and never `modeling_xlnet_crf`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import torch
from transformers import AutoModelForTokenClassification, PreTrainedModel, PreTrainedTokenizerBase

from data_scripts.schemes import X_LABEL

from .alignment import IGNORE_INDEX, encode_words, load_tokenizer, register_model_classes, window_layout, word_pieces
from .collator import DataCollatorForWordCRF
from .entities import OVERLAP_POLICIES, Entity, merge_entities, sentence_entities
from .onnx_backend import OnnxCRFModel, onnx_graph
from .precision import BACKENDS, CPU_ONLY_MODES, ONNX_MODES, QUANTIZATION_MODES, check_bf16_speed, quantize_encoder
from .text import split_sentences
from .windows import predict_windows


WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")


def check_texts(texts: str | Iterable[str]) -> tuple[list[str], bool]:
    """The documents to tag as a list, and whether one string was given; the error names a text that is no string."""
    single = isinstance(texts, str)
    documents = [texts] if single else list(texts)
    for index, document in enumerate(documents):
        if not isinstance(document, str):
            raise TypeError(f"text {index} is a {type(document).__name__}, expected str")
    return documents, single


def _sentences_of(documents: list[str]) -> list[tuple[int, list]]:
    """(document index, words) for every sentence of every document, in order."""
    return [(index, words) for index, document in enumerate(documents) for words in split_sentences(document)]


def _check_folder(path: Path) -> None:
    """Name what is missing in a local checkpoint folder before transformers gives a less direct error."""
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is a file, expected a checkpoint folder (config.json, model.safetensors)")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a checkpoint folder: config.json is missing")
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        pickled = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        hint = f" (found {', '.join(pickled)}: pickled weights are never loaded)" if pickled else ""
        raise FileNotFoundError(f"{path} has no model.safetensors{hint}")


class BioNERTagger:
    """Named-entity tagger over raw text for one CRF checkpoint (XLNet or any supported encoder).

    Calling it on a string returns that text's entities; on a list of strings, one list per text. Each entity is
    `{"start", "end", "text", "type", "score"}` with `text == document[start:end]`, in document order.

    `quantize="int8"` (CPU only) runs the encoder with int8 Linear layers (`quantize_encoder`, applied to `model` in
    place); `quantize="bf16"` runs it under bfloat16 autocast (fast on CPUs with AMX or AVX512-BF16, and on GPUs;
    the weights stay fp32). Either way decoding is exact Viterbi over the reduced-precision encoder's emissions.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        batch_size: int = 32,
        max_seq_length: int = 512,
        stride: int = 128,
        name: str | None = None,
        quantize: str | None = None,
    ):
        if not callable(getattr(model, "crf_positions", None)):  # duck-typed: remote-code classes are other objects
            raise TypeError(
                f"{type(model).__name__} has no CRF head, expected an XLNetForTokenClassificationCRF or an "
                "EncoderForTokenClassificationCRF"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        onnx = isinstance(model, OnnxCRFModel)
        modes = ONNX_MODES if onnx else QUANTIZATION_MODES
        if quantize is not None and quantize not in modes:
            raise ValueError(f"quantize={quantize!r}, expected None or one of {modes} ({'onnx' if onnx else 'torch'})")
        device = next(model.parameters()).device
        if quantize in CPU_ONLY_MODES and device.type != "cpu":
            raise ValueError(f"quantize={quantize!r} runs on the CPU only, but the model is on {device}")
        if quantize == "int8" and not onnx:  # an ONNX graph is quantized when exported
            quantize_encoder(model)
        elif quantize == "bf16":
            check_bf16_speed(device)
        config = model.config
        self.model = model.eval()
        self.quantize = quantize
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.stride = stride
        self.name = name or getattr(config, "_name_or_path", None) or type(model).__name__
        self.label_scheme = getattr(config, "label_scheme", "first")
        self.id2label = {int(index): label for index, label in config.id2label.items()}
        self._x_id = config.label2id.get(X_LABEL) if self.label_scheme == "x" else None
        self._layout = window_layout(tokenizer, self.label_scheme, self._x_id, max_seq_length, stride)
        self._collator = DataCollatorForWordCRF(tokenizer)

    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | os.PathLike | Sequence[str | os.PathLike],
        *,
        device: str | torch.device | None = None,
        batch_size: int = 32,
        max_seq_length: int = 512,
        stride: int = 128,
        overlaps: str = "keep",
        trust_remote_code: bool = False,
        quantize: str | None = None,
        backend: str = "torch",
    ) -> BioNERTagger | MultiTagger:
        """Load a checkpoint folder or Hub id (safetensors only); a list of them gives a `MultiTagger`.

        `quantize="int8"` makes the encoder int8 (CPU only, see `BioNERTagger`; `device` then defaults to the CPU);
        `quantize="bf16"` runs it under bfloat16 autocast. `backend="onnx"` runs the encoder's exported ONNX graph
        (`onnx/model.onnx`, or `onnx/model.int8.onnx` with `quantize="int8"`) in ONNX Runtime on the CPU and decodes
        with the checkpoint's CRF; a local checkpoint without the graph gets it exported on the fly.
        """
        if backend not in BACKENDS:
            raise ValueError(f"backend={backend!r}, expected one of {BACKENDS}")
        modes = ONNX_MODES if backend == "onnx" else QUANTIZATION_MODES
        if quantize is not None and quantize not in modes:  # before loading anything
            raise ValueError(f"quantize={quantize!r}, expected None or one of {modes} with backend={backend!r}")
        if backend == "onnx" and device is not None and torch.device(device).type != "cpu":
            raise ValueError(f"backend='onnx' runs on the CPU (ONNX Runtime's CPU provider), not on {device}")
        if isinstance(model_name_or_path, (list, tuple)):
            taggers = [
                cls.from_pretrained(
                    path,
                    device=device,
                    batch_size=batch_size,
                    max_seq_length=max_seq_length,
                    stride=stride,
                    trust_remote_code=trust_remote_code,
                    quantize=quantize,
                    backend=backend,
                )
                for path in model_name_or_path
            ]
            return MultiTagger(taggers, overlaps=overlaps)
        name = os.fspath(model_name_or_path)
        if os.path.exists(name):
            _check_folder(Path(name))
        register_model_classes()
        try:
            model = AutoModelForTokenClassification.from_pretrained(
                name, use_safetensors=True, trust_remote_code=trust_remote_code
            )
            tokenizer = load_tokenizer(name)
        except Exception as error:  # a loader boundary: say which checkpoint failed and why
            raise OSError(f"Could not load a CRF checkpoint from {name!r}: {type(error).__name__}: {error}") from error
        if backend == "onnx":
            model = OnnxCRFModel(model, onnx_graph(name, quantize))
        elif device is None:
            device = "cuda" if torch.cuda.is_available() and quantize not in CPU_ONLY_MODES else "cpu"
        return cls(
            model if backend == "onnx" else model.to(device),
            tokenizer,
            batch_size=batch_size,
            max_seq_length=max_seq_length,
            stride=stride,
            name=Path(name).name if os.path.exists(name) else name,
            quantize=quantize,
        )

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def entity_types(self) -> list[str]:
        """The entity types this checkpoint predicts."""
        types = {label.partition("-")[2] or label for label in self.id2label.values() if label not in ("O", X_LABEL)}
        return sorted(types)

    def __call__(self, texts: str | Iterable[str], *, progress: bool = False) -> list[Entity] | list[list[Entity]]:
        documents, single = check_texts(texts)
        sentences = _sentences_of(documents)
        tagged = self.tag_words([[word.form for word in words] for _, words in sentences], progress=progress)
        results: list[list[Entity]] = [[] for _ in documents]
        for (index, words), word_tags in zip(sentences, tagged, strict=True):
            results[index].extend(sentence_entities(documents[index], words, word_tags))
        return results[0] if single else results

    def tag_words(
        self, sentences: Sequence[Sequence[str]], *, progress: bool = False
    ) -> list[list[tuple[str, float]]]:
        """(label, marginal probability) of each word of each pre-tokenized sentence."""
        prefix, suffix, budget = self._layout
        kept = [index for index, words in enumerate(sentences) if len(words) > 0]
        windows = []
        for index, pieces in zip(
            kept,
            word_pieces([sentences[index] for index in kept], self.tokenizer),
            strict=True,
        ):
            windows.extend(
                encode_words(
                    pieces,
                    None,
                    index,
                    prefix,
                    suffix,
                    budget,
                    self.stride,
                    IGNORE_INDEX,
                )
            )
        precision = (
            torch.autocast(self.device.type, dtype=torch.bfloat16)
            if self.quantize == "bf16"
            else contextlib.nullcontext()
        )
        with precision:
            per_word = predict_windows(
                self.model,
                windows,
                [len(words) for words in sentences],
                self._collator,
                batch_size=self.batch_size,
                with_scores=True,
                progress=f"Tagging ({self.name})" if progress else None,
            )
        return [[(self.id2label[tag], probability) for tag, probability in words] for words in per_word]


class MultiTagger:
    """Several checkpoints over the same text (e.g. one per entity type); each entity names its `model`.

    `overlaps` decides what happens when spans of different models (or types) overlap:
    * `"keep"` (default): every span is returned, and those overlapping another span carry `"overlapping": True`;
    * `"resolve"`: a non-overlapping subset is kept greedily by higher score, then longer span, then model order.
    """

    def __init__(
        self,
        taggers: Sequence[BioNERTagger] | Mapping[str, BioNERTagger],
        *,
        overlaps: str = "keep",
    ):
        if overlaps not in OVERLAP_POLICIES:
            raise ValueError(f"overlaps={overlaps!r}, expected one of {OVERLAP_POLICIES}")
        named = dict(taggers) if isinstance(taggers, Mapping) else {}
        if not isinstance(taggers, Mapping):
            for tagger in taggers:
                name, suffix = tagger.name, 2
                while name in named:
                    name, suffix = f"{tagger.name}-{suffix}", suffix + 1
                named[name] = tagger
        if not named:
            raise ValueError("MultiTagger needs at least one tagger")
        self.taggers = named
        self.overlaps = overlaps

    def __call__(self, texts: str | Iterable[str], *, progress: bool = False) -> list[Entity] | list[list[Entity]]:
        documents, single = check_texts(texts)
        sentences = _sentences_of(documents)
        forms = [[word.form for word in words] for _, words in sentences]
        results: list[list[Entity]] = [[] for _ in documents]
        for name, tagger in self.taggers.items():
            for (index, words), word_tags in zip(sentences, tagger.tag_words(forms, progress=progress), strict=True):
                for entity in sentence_entities(documents[index], words, word_tags):
                    results[index].append({**entity, "model": name})
        model_order = {name: order for order, name in enumerate(self.taggers)}
        merged = [merge_entities(entities, self.overlaps, model_order) for entities in results]
        return merged[0] if single else merged


__all__ = ["BioNERTagger", "MultiTagger", "check_texts"]
