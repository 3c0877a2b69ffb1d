"""Load NER corpora from local files in any tagging scheme, shaped like `datasets.load_dataset(..., data_files=...)`.

CoNLL-style column files go through `conll.read_conll`, the one column reader of the project; JSON and JSON lines
files hold one record per sentence. Each file's scheme is detected (or given), checked, read into spans by
`schemes.entity_spans` and written out again in `output_scheme`, so files in IOB1, IOB2, BIOES or BILOU load to the
same dataset. Bad input is a `CorpusFormatError` naming the file and line; nothing is dropped silently.

Datasets in the conll2003 style (a token column and a `ClassLabel` sequence tag column), from the Hub or a
`save_to_disk` folder, go through the same checks and conversion (`load_tagged_dataset`, `from_tagged_dataset`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import datasets

from .conll import DOCSTART, ConllSentence, CorpusFormatError, checked_tags, locate, read_conll
from .crichton import CorpusUnavailableError
from .schemes import OUTSIDE, TagSchemeError, canonical_scheme, detect_scheme, entity_spans, label_names, spans_to_tags


logger = logging.getLogger(__name__)

FORMATS = ("conll", "json")
JSON_EXTENSIONS = (".json", ".jsonl")
CONLL_EXTENSIONS = (
    ".tsv",
    ".txt",
    ".conll",
    ".conll03",
    ".iob",
    ".iob1",
    ".iob2",
    ".bio",
    ".bioes",
    ".iobes",
    ".bilou",
)
DEFAULT_TAG_FIELDS = ("ner_tags", "tags")
SPLITS = ("train", "validation", "test")
VALIDATION_NAMES = ("validation", "dev", "devel", "valid")

DataFiles = str | os.PathLike | Sequence[str | os.PathLike] | Mapping[str, str | os.PathLike | Sequence]


def load_files(
    data_files: DataFiles,
    scheme: str = "auto",
    output_scheme: str = "IOB2",
    *,
    format: str | None = None,
    token_column: int = 0,
    tag_column: int = -1,
    delimiter: str | None = "auto",
    token_field: str = "tokens",
    tag_field: str | None = None,
    type_map: Mapping[str, str | None] | None = None,
    repair: bool = False,
) -> datasets.DatasetDict:
    """Load tagged files as a DatasetDict of `tokens` and `ner_tags` (a `ClassLabel` per word), one split per key.

    Args:
        data_files: `{split: path or list of paths}`; a single path or list of paths means `{"train": ...}`.
        scheme: `"auto"` (detected per file by `schemes.detect_scheme`) or one of IOB1, IOB2, BIOES (alias IOBES),
            BILOU for every file.
        output_scheme: scheme of the returned tags; `"BIOES"` keeps `S-`/`E-` names (for `crf_constraints="BIOES"`).
        format: `"conll"` or `"json"` (JSON array or JSON lines); by default guessed from each file's extension.
        token_column: the CoNLL column of the tokens (0-based, negative from the end).
        tag_column: the CoNLL column of the tags, likewise.
        delimiter: `"\\t"`, `None` (whitespace) or `"auto"` (tab if the first word line has one).
        token_field: the JSON field of the tokens.
        tag_field: the JSON field of the tags; defaults to `ner_tags`, else `tags`.
        type_map: entity type renames, e.g. `{"SpecificDisease": "Disease"}`; a value of `None` or `"O"` drops that
            type. When given, every type found must be mapped; the error lists all unmapped ones.
        repair: put tags that break their scheme's order (e.g. IOB2 `O I-X`) into order, as conlleval reads them,
            instead of raising.

    Label names are `O`, then each type in sorted order with the output scheme's prefixes (B, I[, E, S or L, U]), the
    same for every split of one call.
    """
    output_scheme = canonical_scheme(output_scheme)
    file_scheme = None if scheme == "auto" else canonical_scheme(scheme)
    if format is not None and format not in FORMATS:
        raise ValueError(f"Unknown format {format!r}, expected one of {FORMATS} or None (from the file extension)")
    split_paths = _split_paths(data_files)
    examples: dict[str, list[tuple[list[str], list[tuple[str, int, int]]]]] = {}
    first_seen: dict[str, str] = {}  # entity type -> where it first occurs
    for split, paths in split_paths.items():
        examples[split] = []
        for path in paths:
            is_json = (format or _guess_format(path)) == "json"
            if is_json:
                sentences = list(_read_json(path, token_field, tag_field))
            else:
                sentences = list(
                    read_conll(path, token_column=token_column, tag_column=tag_column, delimiter=delimiter)
                )
            examples[split] += _checked_spans(path, sentences, file_scheme, repair, first_seen, record=is_json)
    return _spans_to_dataset(examples, first_seen, type_map, output_scheme)


def load_tagged_dataset(
    source: str | os.PathLike,
    config: str | None = None,
    *,
    from_disk: bool | None = None,
    splits: Mapping[str, str] | None = None,
    token_column: str = "tokens",
    tag_column: str = "ner_tags",
    scheme: str = "auto",
    output_scheme: str = "IOB2",
    type_map: Mapping[str, str | None] | None = None,
    repair: bool = False,
) -> datasets.DatasetDict:
    """Load a conll2003-style dataset (a token column and a `ClassLabel` sequence tag column) from the Hub, a local
    data folder or a `save_to_disk` folder, with its tags read, converted and renamed as `load_files` does.

    Args:
        source: Hub id or local folder for `datasets.load_dataset`, or a folder written by `save_to_disk`.
        config: the Hub configuration (`name=` of `load_dataset`).
        from_disk: read `source` with `datasets.load_from_disk`; by default, when it is a folder holding
            `dataset_dict.json` or `state.json` (what `save_to_disk` writes).
        splits: `{train|validation|test: source split}`, e.g. `{"validation": "dev"}`; with `load_dataset` a source
            split may be sliced (`"train[:90%]"`). By default train, test and the first of validation, dev, devel,
            valid that exists; other splits are left out with a warning.
        token_column, tag_column: the column names.
        scheme, output_scheme, type_map, repair: as in `load_files`; the scheme is detected per split.
    """
    name = os.fspath(source)
    if from_disk is None:
        from_disk = any((Path(name) / marker).is_file() for marker in ("dataset_dict.json", "state.json"))
    if from_disk:
        loaded = datasets.load_from_disk(name)
        if not isinstance(loaded, datasets.DatasetDict):
            raise ValueError(f"{name}: holds a single Dataset, expected a DatasetDict saved with save_to_disk")
        chosen = _choose_splits(name, list(loaded), splits)
        missing = [source_split for source_split in chosen.values() if source_split not in loaded]
        if missing:
            raise ValueError(f"{name}: no split(s) {missing}, expected some of {sorted(loaded)}")
        corpus = datasets.DatasetDict({split: loaded[source_split] for split, source_split in chosen.items()})
    elif splits:
        _choose_splits(name, [], splits)  # checks the target names
        corpus = datasets.DatasetDict(
            {split: datasets.load_dataset(name, config, split=source_split) for split, source_split in splits.items()}
        )
    else:
        loaded = datasets.load_dataset(name, config)
        chosen = _choose_splits(name, list(loaded), None)
        corpus = datasets.DatasetDict({split: loaded[source_split] for split, source_split in chosen.items()})
    return from_tagged_dataset(
        corpus,
        name,
        token_column=token_column,
        tag_column=tag_column,
        scheme=scheme,
        output_scheme=output_scheme,
        type_map=type_map,
        repair=repair,
    )


def from_tagged_dataset(
    corpus: datasets.DatasetDict,
    name: str,
    *,
    token_column: str = "tokens",
    tag_column: str = "ner_tags",
    scheme: str = "auto",
    output_scheme: str = "IOB2",
    type_map: Mapping[str, str | None] | None = None,
    repair: bool = False,
) -> datasets.DatasetDict:
    """A DatasetDict with a `ClassLabel` sequence tag column as `tokens` and `ner_tags` in `output_scheme`, types
    renamed by `type_map`: the same reading, checks and conversion as `load_files`, split by split.

    Errors name `<name>[<split>]:<row>` (1-based row) and the column. A row of only `-DOCSTART-` is skipped, as in
    CoNLL files.
    """
    output_scheme = canonical_scheme(output_scheme)
    split_scheme = None if scheme == "auto" else canonical_scheme(scheme)
    examples: dict[str, list[tuple[list[str], list[tuple[str, int, int]]]]] = {}
    first_seen: dict[str, str] = {}
    for split, dataset in corpus.items():
        tag_names = _tag_names(name, split, dataset, token_column, tag_column)
        where = f"{name}[{split}]"
        sentences = []
        for row, (tokens, tag_ids) in enumerate(zip(dataset[token_column], dataset[tag_column]), start=1):
            if tokens == [DOCSTART]:
                continue
            if len(tokens) != len(tag_ids):
                raise CorpusFormatError(
                    f"{where}:{row}: {len(tokens)} {token_column} but {len(tag_ids)} {tag_column}, expected one tag "
                    "per token"
                )
            if not tokens:
                raise CorpusFormatError(f"{where}:{row}: empty sentence, expected at least one token")
            bad = next((tag for tag in tag_ids if not 0 <= tag < len(tag_names)), None)
            if bad is not None:
                raise CorpusFormatError(
                    f"{where}:{row}: {tag_column} id {bad} is not a label, expected 0 to {len(tag_names) - 1}"
                )
            sentences.append(ConllSentence(list(tokens), [tag_names[tag] for tag in tag_ids], [row] * len(tokens)))
        if not sentences:
            raise CorpusFormatError(f"{where}: no sentence, expected at least one row")
        examples[split] = _checked_spans(where, sentences, split_scheme, repair, first_seen, record=True)
    return _spans_to_dataset(examples, first_seen, type_map, output_scheme)


def _choose_splits(name: str, available: list[str], splits: Mapping[str, str] | None) -> dict[str, str]:
    """`{target split: source split}`: the given mapping (targets checked) or the default choice among `available`."""
    if splits is not None:
        unknown = [split for split in splits if split not in SPLITS]
        if unknown or not splits:
            raise ValueError(f"{name}: splits maps to {unknown or 'nothing'}, expected keys among {SPLITS}")
        return dict(splits)
    chosen = {}
    for split, candidates in (("train", ("train",)), ("validation", VALIDATION_NAMES), ("test", ("test",))):
        found = next((candidate for candidate in candidates if candidate in available), None)
        if found is not None:
            chosen[split] = found
    left_out = sorted(set(available) - set(chosen.values()))
    if left_out:
        logger.warning("%s: split(s) %s left out; map them with splits={'train': ...}", name, left_out)
    if not chosen:
        raise ValueError(f"{name}: splits {available} include none of train, validation, test: pass splits")
    return chosen


def _tag_names(name: str, split: str, dataset: datasets.Dataset, token_column: str, tag_column: str) -> list[str]:
    """Label names of the tag column, which must be a sequence of `ClassLabel`; the token column must be strings."""
    for column in (token_column, tag_column):
        if column not in dataset.features:
            raise ValueError(
                f"{name}[{split}]: no column {column!r}, expected it among {sorted(dataset.features)} (set the "
                "token and tag column names)"
            )
    tokens, tags = dataset.features[token_column], dataset.features[tag_column]
    if not (isinstance(tokens, datasets.List | datasets.LargeList) and tokens.feature == datasets.Value("string")):
        raise ValueError(f"{name}[{split}]: column {token_column!r} is {tokens}, expected a sequence of strings")
    if not (isinstance(tags, datasets.List | datasets.LargeList) and isinstance(tags.feature, datasets.ClassLabel)):
        raise ValueError(
            f"{name}[{split}]: column {tag_column!r} is {tags}, expected a sequence of ClassLabel (tag names such as "
            "B-Disease), as in conll2003"
        )
    return list(tags.feature.names)


def _spans_to_dataset(
    examples: Mapping[str, list[tuple[list[str], list[tuple[str, int, int]]]]],
    first_seen: Mapping[str, str],
    type_map: Mapping[str, str | None] | None,
    output_scheme: str,
) -> datasets.DatasetDict:
    """The DatasetDict of (tokens, entity spans) per split: types renamed, tags written in `output_scheme`, one label
    set (`O`, then the sorted types) for every split."""
    output_scheme = canonical_scheme(output_scheme)
    rename = _check_type_map(type_map, first_seen)
    types = sorted({rename.get(entity_type, entity_type) for entity_type in first_seen} - {None})
    names = label_names(types, output_scheme)
    label2id = {name: index for index, name in enumerate(names)}
    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(names=names)),
        }
    )
    splits = {}
    for split, rows in examples.items():
        columns: dict[str, list] = {"tokens": [], "ner_tags": []}
        for tokens, spans in rows:
            kept = [(rename.get(t, t), start, end) for t, start, end in spans if rename.get(t, t) is not None]
            columns["tokens"].append(tokens)
            columns["ner_tags"].append([label2id[tag] for tag in spans_to_tags(kept, len(tokens), output_scheme)])
        splits[split] = datasets.Dataset.from_dict(columns, features=features, split=split)
    return datasets.DatasetDict(splits)


def _split_paths(data_files: DataFiles) -> dict[str, list[str]]:
    """`{split: [existing path, ...]}`; a missing path is an error naming its split."""
    if isinstance(data_files, str | os.PathLike) or (
        isinstance(data_files, Sequence) and not isinstance(data_files, Mapping)
    ):
        data_files = {"train": data_files}
    if not isinstance(data_files, Mapping) or not data_files:
        raise ValueError(
            f"data_files must be a path, a list of paths or a non-empty {{split: paths}} dict, got {data_files!r}"
        )
    split_paths = {}
    for split, paths in data_files.items():
        paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        if not paths:
            raise ValueError(f"split {split!r}: no file given, expected a path or a non-empty list of paths")
        for path in paths:
            if not Path(path).is_file():
                raise CorpusUnavailableError(f"split {split!r}: file {os.fspath(path)} not found")
        split_paths[str(split)] = [os.fspath(path) for path in paths]
    return split_paths


def _checked_spans(
    path: str,
    sentences: list[ConllSentence],
    scheme: str | None,
    repair: bool,
    first_seen: dict[str, str],
    *,
    record: bool,
) -> list[tuple[list[str], list[tuple[str, int, int]]]]:
    """(tokens, entity spans) per sentence of one source, its tags checked in its scheme (detected when `None`);
    `path` and the sentences' lines name where a problem is (`record`: one record per sentence, as in JSON)."""
    if scheme is None:
        try:
            scheme = detect_scheme(sentence.tags for sentence in sentences)
        except TagSchemeError as error:
            where = locate(path, sentences[error.sentence], error.position, record)
            raise CorpusFormatError(f"{where}: {error.message}") from None
    num_repairs = 0
    checked = []
    for sentence in sentences:
        tags = checked_tags(path, sentence, scheme, repair=repair, record=record)
        num_repairs += sum(old != new for old, new in zip(sentence.tags, tags))
        spans = entity_spans(tags)
        for entity_type, start, _ in spans:
            first_seen.setdefault(entity_type, locate(path, sentence, start, record))
        checked.append((sentence.tokens, spans))
    if num_repairs:
        logger.warning("%s: repaired %d tag(s) that broke %s order", path, num_repairs, scheme)
    return checked


def _guess_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in JSON_EXTENSIONS:
        return "json"
    if suffix in CONLL_EXTENSIONS:
        return "conll"
    raise ValueError(
        f"{path}: cannot tell the format from the extension {suffix!r}, expected one of "
        f"{', '.join(JSON_EXTENSIONS + CONLL_EXTENSIONS)}, or pass format='conll' or format='json'"
    )


def _read_json(path: str, token_field: str, tag_field: str | None) -> Iterator[ConllSentence]:
    """Records of a JSON array or JSON lines file as sentences whose words all carry the record's line."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise CorpusFormatError(
            f"{path}:{line}: byte 0x{data[error.start]:02x} is not valid UTF-8, expected UTF-8 text"
        ) from None
    for line, record in _json_records(path, text):
        where = f"{path}:{line}"
        if not isinstance(record, dict):
            raise CorpusFormatError(f"{where}: found a JSON {type(record).__name__}, expected an object per sentence")
        field = tag_field or next((name for name in DEFAULT_TAG_FIELDS if name in record), DEFAULT_TAG_FIELDS[0])
        for name in (token_field, field):
            value = record.get(name)
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise CorpusFormatError(f"{where}: field {name!r} is {value!r:.60}, expected a list of strings")
        tokens, tags = record[token_field], record[field]
        if len(tokens) != len(tags):
            raise CorpusFormatError(
                f"{where}: {len(tokens)} {token_field} but {len(tags)} {field}, expected one tag per token"
            )
        if not tokens:
            raise CorpusFormatError(f"{where}: empty sentence, expected at least one token")
        yield ConllSentence(tokens, tags, [line] * len(tokens))


def _json_records(path: str, text: str) -> Iterator[tuple[int, object]]:
    """(1-based line, value) of each element of a top-level JSON array, else of each non-blank JSON line."""
    index = _skip_space(text, 0)
    if text[index : index + 1] != "[":
        for line_number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    yield line_number, json.loads(line)
                except json.JSONDecodeError as error:
                    raise CorpusFormatError(
                        f"{path}:{line_number}: invalid JSON line ({error.msg} at column {error.colno}), expected one "
                        "JSON object per line"
                    ) from None
        return
    decoder = json.JSONDecoder()
    try:
        index = _skip_space(text, index + 1)
        while text[index : index + 1] != "]":
            value, end = decoder.raw_decode(text, index)
            yield text.count("\n", 0, index) + 1, value
            index = _skip_space(text, end)
            if text[index : index + 1] == ",":
                index = _skip_space(text, index + 1)
            elif text[index : index + 1] != "]":
                raise json.JSONDecodeError("Expecting ',' or ']'", text, index)
    except json.JSONDecodeError as error:
        raise CorpusFormatError(
            f"{path}:{error.lineno}: invalid JSON ({error.msg} at column {error.colno}), expected an array of objects"
        ) from None


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _check_type_map(type_map: Mapping[str, str | None] | None, first_seen: Mapping[str, str]) -> dict:
    """`{type: new type or None}`; with a map, every type found must be in it, else one error listing them all."""
    if type_map is None:
        return {}
    unmapped = [
        f"{entity_type!r} (first at {where})"
        for entity_type, where in first_seen.items()
        if entity_type not in type_map
    ]
    if unmapped:
        raise CorpusFormatError(
            f"type_map leaves {len(unmapped)} entity type(s) unmapped: {', '.join(unmapped)}; expected every type "
            "to be mapped (to itself to keep it, to None or 'O' to drop it)"
        )
    return {old: None if new in (None, OUTSIDE) else new for old, new in type_map.items()}


__all__ = ["CorpusFormatError", "from_tagged_dataset", "load_files", "load_tagged_dataset"]
