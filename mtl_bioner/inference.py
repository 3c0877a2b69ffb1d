"""Tag raw text with CRF checkpoints (XLNet or any encoder): exact character offsets, batched windows, Viterbi tags, CRF marginals.

Documents are split into sentences and words by `text.split_sentences` (offsets into the original string), each
sentence is cut into windows by `alignment` exactly as in training, windows of all documents are sorted by length and
run in batches, and each word takes its tag from the window where it has most context (`alignment.reassemble`).
Tags are the model's Viterbi predictions; an entity's `score` is the CRF marginal probability of the predicted tag,
averaged over the entity's words.

This module, `text`, `alignment`, `collator` and `pipeline` import each other only relatively and never import
`modeling_xlnet_crf`, so they can be shipped next to a checkpoint as remote code for the custom pipeline.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoModelForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from .alignment import (
    IGNORE_INDEX,
    encode_words,
    load_tokenizer,
    reassemble,
    window_layout,
    word_pieces,
)
from .collator import DataCollatorForWordCRF
from .text import Word, split_sentences


try:  # remote code next to a checkpoint: `add_pipeline_code` puts schemes.py beside this file
    from .schemes import entity_spans
except ImportError:  # the installed package: the one tag reader lives with the corpus loaders
    from data_scripts.schemes import entity_spans


logger = logging.getLogger(__name__)

_X_LABEL = "X"
OVERLAP_POLICIES = ("keep", "resolve")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
# int8: dynamically quantized encoder Linear layers (CPU). bf16: the encoder under bfloat16 autocast (CPUs with AMX or
# AVX512-BF16 units, GPUs). Either way the emission layer's output and the CRF are fp32, so decoding is exact.
QUANTIZATION_MODES = ("int8", "bf16")
# Reduced precision that needs a CPU (int8 kernels have no GPU path here); bf16 runs wherever autocast does.
CPU_ONLY_MODES = ("int8",)
# Kernels for dynamically quantized Linear layers, best first. oneDNN's use the VNNI/AMX int8 instructions that CPUs with
# AVX-512 usually have (on a Xeon with AMX: 2.1x the fp32 encoder's speed, x86 and fbgemm 1.6x); elsewhere on x86 the
# x86 engine (fbgemm for dynamic Linear layers), and qnnpack on ARM.
QUANTIZED_ENGINES = ("x86", "fbgemm", "qnnpack")
AVX512_QUANTIZED_ENGINES = ("onednn", *QUANTIZED_ENGINES)

Entity = dict[str, Any]


def _entities(text: str, words: Sequence[Word], tagged: Sequence[tuple[str, float]]) -> list[Entity]:
    """Spans of one sentence from per-word (label, probability) pairs, read by `schemes.entity_spans` (seqeval's
    rule, for every tagging scheme; `X` reads as `O`); the score is the mean probability over the span's words."""
    entities: list[Entity] = []
    for entity_type, first, last in entity_spans([label for label, _ in tagged]):
        start, end = words[first].start, words[last - 1].end
        probabilities = [probability for _, probability in tagged[first:last]]
        entities.append(
            {
                "start": start,
                "end": end,
                "text": text[start:end],
                "type": entity_type,
                "score": sum(probabilities) / len(probabilities),
            }
        )
    return entities


def _sentences_of(documents: list[str]) -> list[tuple[int, list]]:
    """(document index, words) for every sentence of every document, in order."""
    return [(index, words) for index, document in enumerate(documents) for words in split_sentences(document)]


def _check_texts(texts: str | Iterable[str]) -> tuple[list[str], bool]:
    single = isinstance(texts, str)
    documents = [texts] if single else list(texts)
    for index, document in enumerate(documents):
        if not isinstance(document, str):
            raise TypeError(f"text {index} is a {type(document).__name__}, expected str")
    return documents, single


def _register_local_model() -> None:
    """Register the `xlnet-crf` and `encoder-crf` Auto classes from the installed `modeling_xlnet_crf`, when it is installed.

    Without it (e.g. this file runs as a checkpoint's remote code) loading needs `trust_remote_code=True`.
    """
    try:
        importlib.import_module("modeling_xlnet_crf")
    except ImportError:
        pass


def quantized_engine(preferred: Sequence[str] | None = None) -> str:
    """The first engine of `preferred` (default: the best for this CPU) that this torch build supports."""
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


def quantize_encoder(model: PreTrainedModel) -> None:
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


def check_bf16_speed(device: torch.device) -> None:
    """Warn when bf16 would run on a CPU without native bfloat16 kernels: oneDNN then emulates them, slower than fp32."""
    capability = torch.backends.cpu.get_cpu_capability()
    if device.type == "cpu" and not capability.startswith("AVX512"):
        logger.warning(
            "quantize='bf16' on a CPU without AVX-512 (capability %s): bfloat16 matrix products are emulated and "
            "usually slower than fp32; quantize='int8' is the faster choice here",
            capability,
        )


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


MODEL_INPUTS = ("input_ids", "attention_mask", "word_ids")


@torch.inference_mode()
def predict_windows(
    model: PreTrainedModel,
    windows: Sequence[Mapping[str, Any]],
    num_words: Sequence[int],
    collator: DataCollatorForWordCRF,
    *,
    batch_size: int,
    with_scores: bool = False,
    progress: str | None = None,
    shard: Callable[[list], AbstractContextManager[list]] | None = None,
    gather: Callable[[list], list] | None = None,
) -> list[list[int]] | list[list[tuple[int, float]]]:
    """Each word's Viterbi tag (with `with_scores`, and its CRF marginal probability) for windows of
    `alignment.encode_words`, in sentences of `num_words` words.

    The one prediction loop of evaluation (`MultiTaskTrainer.predict_words`) and tagging (`BioNERTagger`), so that
    the scores and the deployed tagger cannot drift apart: windows longest first (batches of similar lengths waste
    little on padding, and memory peaks at the start), `batch_size` per forward pass, each word read from the window
    where it has most context (`alignment.reassemble`). `shard` deals the batches to this process and `gather`
    collects every process's rows (as `accelerate`'s `split_between_processes` and `gather_object` do).
    """
    order = sorted(range(len(windows)), key=lambda index: -len(windows[index]["input_ids"]))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    device = next(model.parameters()).device
    collected: list[tuple[list[int], list, int]] = []
    with shard(batches) if shard is not None else contextlib.nullcontext(batches) as my_batches:
        if progress:
            from tqdm.auto import tqdm

            my_batches = tqdm(my_batches, desc=progress, unit="batch")
        for indices in my_batches:
            chunk = [windows[index] for index in indices]
            batch = collator([{key: window[key] for key in MODEL_INPUTS} for window in chunk])
            inputs = {key: batch[key].to(device) for key in MODEL_INPUTS}
            output = model(**inputs, output_marginals=with_scores, return_dict=True)
            tags = output.predictions
            values = tags.tolist()
            if with_scores:
                chosen = output.marginals.gather(-1, tags.clamp(min=0).unsqueeze(-1)).squeeze(-1)
                probabilities = chosen.masked_fill(tags < 0, 0.0).tolist()
                values = [
                    list(zip(row_tags, row_probabilities))
                    for row_tags, row_probabilities in zip(values, probabilities)
                ]
            collected.extend(zip(batch["word_ids"].tolist(), values, (window["sentence_id"] for window in chunk)))
    if gather is not None:
        collected = gather(collected)
    word_ids, values, sentence_ids = zip(*collected) if collected else ((), (), ())
    return reassemble(word_ids, values, sentence_ids, num_words)


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
        if quantize is not None and quantize not in QUANTIZATION_MODES:
            raise ValueError(f"quantize={quantize!r}, expected None or one of {QUANTIZATION_MODES}")
        device = next(model.parameters()).device
        if quantize in CPU_ONLY_MODES and device.type != "cpu":
            raise ValueError(f"quantize={quantize!r} runs on the CPU only, but the model is on {device}")
        if quantize == "int8":
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
        self._x_id = config.label2id.get(_X_LABEL) if self.label_scheme == "x" else None
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
    ) -> BioNERTagger | MultiTagger:
        """Load a checkpoint folder or Hub id (safetensors only); a list of them gives a `MultiTagger`.

        `quantize="int8"` makes the encoder int8 (CPU only, see `BioNERTagger`; `device` then defaults to the CPU);
        `quantize="bf16"` runs it under bfloat16 autocast.
        """
        if quantize is not None and quantize not in QUANTIZATION_MODES:  # before loading anything
            raise ValueError(f"quantize={quantize!r}, expected None or one of {QUANTIZATION_MODES}")
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
                )
                for path in model_name_or_path
            ]
            return MultiTagger(taggers, overlaps=overlaps)
        name = os.fspath(model_name_or_path)
        if os.path.exists(name):
            _check_folder(Path(name))
        _register_local_model()
        try:
            model = AutoModelForTokenClassification.from_pretrained(
                name, use_safetensors=True, trust_remote_code=trust_remote_code
            )
            tokenizer = load_tokenizer(name)
        except Exception as error:  # a loader boundary: say which checkpoint failed and why
            raise OSError(f"Could not load a CRF checkpoint from {name!r}: {type(error).__name__}: {error}") from error
        if device is None:
            device = "cuda" if torch.cuda.is_available() and quantize not in CPU_ONLY_MODES else "cpu"
        return cls(
            model.to(device),
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
        types = {label.partition("-")[2] or label for label in self.id2label.values() if label not in ("O", _X_LABEL)}
        return sorted(types)

    def __call__(self, texts: str | Iterable[str], *, progress: bool = False) -> list[Entity] | list[list[Entity]]:
        documents, single = _check_texts(texts)
        sentences = _sentences_of(documents)
        tagged = self.tag_words([[word.form for word in words] for _, words in sentences], progress=progress)
        results: list[list[Entity]] = [[] for _ in documents]
        for (index, words), word_tags in zip(sentences, tagged, strict=True):
            results[index].extend(_entities(documents[index], words, word_tags))
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


def _overlap(a: Entity, b: Entity) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


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
        documents, single = _check_texts(texts)
        sentences = _sentences_of(documents)
        forms = [[word.form for word in words] for _, words in sentences]
        results: list[list[Entity]] = [[] for _ in documents]
        for order, (name, tagger) in enumerate(self.taggers.items()):
            for (index, words), word_tags in zip(sentences, tagger.tag_words(forms, progress=progress), strict=True):
                for entity in _entities(documents[index], words, word_tags):
                    results[index].append({**entity, "model": name, "_order": order})
        merged = [self._merge(entities) for entities in results]
        return merged[0] if single else merged

    def _merge(self, entities: list[Entity]) -> list[Entity]:
        if self.overlaps == "resolve":
            kept: list[Entity] = []
            for entity in sorted(
                entities,
                key=lambda e: (
                    -e["score"],
                    e["start"] - e["end"],
                    e["_order"],
                    e["start"],
                ),
            ):
                if not any(_overlap(entity, other) for other in kept):
                    kept.append(entity)
            entities = kept
        else:
            ordered = sorted(entities, key=lambda e: (e["start"], e["end"]))
            for entity in ordered:
                entity["overlapping"] = False
            for position, entity in enumerate(ordered):
                for other in ordered[position + 1 :]:
                    if other["start"] >= entity["end"]:
                        break
                    entity["overlapping"] = other["overlapping"] = True
        entities = sorted(entities, key=lambda e: (e["start"], e["end"], e["_order"]))
        return [{key: value for key, value in entity.items() if key != "_order"} for entity in entities]


__all__ = [
    "OVERLAP_POLICIES",
    "QUANTIZATION_MODES",
    "check_bf16_speed",
    "BioNERTagger",
    "Entity",
    "MultiTagger",
    "predict_windows",
    "quantize_encoder",
    "quantized_engine",
]
