"""`bioner-tag`'s input formats, read as a stream of documents.

Readers take a binary stream and yield `Document`s, or `Malformed` records naming the line of a bad document, one at
a time: input is decoded line by line (or block by block for BioC-JSON, `data_scripts.textio`), so memory stays flat
and the line of a non-UTF-8 byte is known.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from data_scripts.textio import JsonScanner, TextFormatError, decoded_lines


INPUT_FORMATS = ("text", "lines", "jsonl", "pubtator", "bioc")


@dataclass
class Passage:
    offset: int
    text: str
    type: str
    infons: dict[str, Any] = field(default_factory=dict)


@dataclass
class Annotation:
    """A mention found in the input; `line` is its PubTator line, written back verbatim to PubTator output."""

    start: int
    end: int
    text: str
    infons: dict[str, Any]
    line: str | None = None


@dataclass
class Relation:
    """A relation found in the input, as a BioC relation record; `line` as for `Annotation`."""

    record: dict[str, Any]
    line: str | None = None


@dataclass
class Document:
    id: str
    passages: list[Passage]
    line: int = 0
    infons: dict[str, Any] = field(default_factory=dict)
    input_annotations: list[Annotation] = field(default_factory=list)
    input_relations: list[Relation] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The passages joined with one space each (PubTator's title + " " + abstract)."""
        return " ".join(passage.text for passage in self.passages)


@dataclass
class Malformed:
    """A document that could not be read: where it starts (or the bad line) and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}"


Item = Document | Malformed


# Reading


def _decoded_lines(stream: IO[bytes], name: str) -> Iterator[tuple[int, str, Malformed | None]]:
    """`textio.decoded_lines` with each undecodable line's problem as a `Malformed` record of this input."""
    for number, line, problem in decoded_lines(stream):
        yield number, line, None if problem is None else Malformed(name, number, str(problem))


def read_text(stream: IO[bytes], name: str) -> Iterator[Item]:
    """The whole input is one document (it has to fit in memory to be tagged)."""
    lines = []
    for _, line, problem in _decoded_lines(stream, name):
        if problem is not None:
            yield problem
            return
        lines.append(line)
    yield Document(Path(name).stem if name != "stdin" else name, [Passage(0, "\n".join(lines), "text")], line=1)


def read_lines(stream: IO[bytes], name: str) -> Iterator[Item]:
    for number, line, problem in _decoded_lines(stream, name):
        if problem is not None:
            yield problem
        elif line.strip():
            yield Document(str(number), [Passage(0, line, "text")], line=number)


def read_jsonl(stream: IO[bytes], name: str) -> Iterator[Item]:
    for number, line, problem in _decoded_lines(stream, name):
        if problem is not None:
            yield problem
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Malformed(name, number, f"not valid JSON ({error.msg} at column {error.colno})")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            yield Malformed(name, number, 'expected an object with a string "text" field')
            continue
        yield Document(str(record.get("id", number)), [Passage(0, record["text"], "text")], line=number)


class _PubTatorBlock:
    """The lines of one PubTator document as they are read; `error` is the first problem found."""

    def __init__(self, pmid: str, line: int):
        self.pmid, self.line = pmid, line
        self.parts: dict[str, str] = {}
        self.annotation_lines: list[tuple[int, list[str], str]] = []
        self.error: Malformed | None = None

    def finish(self, name: str) -> Item:
        if self.error is not None:
            return self.error
        title, abstract = self.parts.get("t", ""), self.parts.get("a")
        passages = [Passage(0, title, "title")]
        if abstract is not None:
            passages.append(Passage(len(title) + 1, abstract, "abstract"))
        document = Document(self.pmid, passages, line=self.line)
        length = len(document.text)
        for number, columns, line in self.annotation_lines:
            if len(columns) == 4:  # PMID, relation type, two concept ids
                infons = {"type": columns[1], "arg1": columns[2], "arg2": columns[3]}
                document.input_relations.append(Relation({"infons": infons, "nodes": []}, line))
                continue
            try:
                start, end = int(columns[1]), int(columns[2])
            except ValueError:
                return Malformed(name, number, "annotation start and end must be integers")
            if not 0 <= start <= end <= length:
                return Malformed(name, number, f"annotation span {start}-{end} is outside the document (0-{length})")
            infons = {"type": columns[4]}
            if len(columns) > 5:
                infons["identifier"] = columns[5]
            if len(columns) > 6:
                infons["extra"] = "\t".join(columns[6:])
            document.input_annotations.append(Annotation(start, end, columns[3], infons, line))
        return document


def read_pubtator(stream: IO[bytes], name: str) -> Iterator[Item]:
    """PubTator blocks; annotation lines (`PMID<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>id]`) and relation lines
    (`PMID<TAB>type<TAB>id1<TAB>id2`) are kept with their document. A bad line spoils its whole block."""
    block: _PubTatorBlock | None = None
    for number, line, problem in _decoded_lines(stream, name):
        if not line.strip():
            if block is not None:
                yield block.finish(name)
            block = None
            continue
        head, bar, rest = line.partition("|")
        if bar and rest[:2] in ("t|", "a|") and "\t" not in head:
            if block is not None and block.pmid != head:
                yield block.finish(name)
                block = None
            block = block or _PubTatorBlock(head, number)
            block.error = block.error or problem
            if rest[0] in block.parts:
                block.error = block.error or Malformed(name, number, f"second `{head}|{rest[0]}|` line")
            block.parts[rest[0]] = rest[2:]
            continue
        columns = line.split("\t")
        if block is not None and len(columns) >= 4 and columns[0] == block.pmid:
            block.annotation_lines.append((number, columns, line))
            block.error = block.error or problem
            continue
        if block is None:
            block = _PubTatorBlock(columns[0], number)
        block.error = block.error or Malformed(
            name,
            number,
            f"expected `PMID|t|title`, `PMID|a|abstract` or an annotation line of PMID {block.pmid or '?'}",
        )
    if block is not None:
        yield block.finish(name)


def _bioc_document(record: Any, name: str, line: int) -> Item:
    if not isinstance(record, dict) or not isinstance(record.get("passages"), list):
        return Malformed(name, line, 'expected a BioC document: an object with a "passages" list')
    passages, annotations, relations = [], [], [dict(r) for r in record.get("relations", []) if isinstance(r, dict)]
    for index, passage in enumerate(record["passages"]):
        if not isinstance(passage, dict) or not isinstance(passage.get("text"), str):
            return Malformed(name, line, f'passage {index} has no string "text" (sentence-level BioC is not read)')
        offset, infons = passage.get("offset", 0), passage.get("infons") or {}
        if not isinstance(offset, int) or not isinstance(infons, dict):
            return Malformed(name, line, f'passage {index}: "offset" must be an integer and "infons" an object')
        passages.append(Passage(offset, passage["text"], str(infons.get("type", "text")), infons))
        relations += [dict(r) for r in passage.get("relations", []) if isinstance(r, dict)]
        for annotation in passage.get("annotations", []):
            try:
                location = annotation["locations"][0]
                start = int(location["offset"])
                end = start + int(location["length"])
                infons = dict(annotation.get("infons") or {})
            except (KeyError, IndexError, TypeError, ValueError):
                return Malformed(name, line, f"passage {index}: an annotation without an offset and length")
            annotations.append(Annotation(start, end, str(annotation.get("text", "")), infons))
    return Document(
        str(record.get("id", line)),
        passages,
        line=line,
        infons=dict(record.get("infons") or {}),
        input_annotations=annotations,
        input_relations=[Relation(r) for r in relations],
    )


def read_bioc(stream: IO[bytes], name: str) -> Iterator[Item]:
    """Documents of a BioC-JSON collection, one at a time. A document that is not valid JSON ends the run even with
    `--on_error skip`: there is no safe place to start reading again."""
    scanner = JsonScanner(stream)
    try:
        scanner.expect("{")
        if scanner.peek() == "}":
            return
        while True:
            key, _ = scanner.value()
            scanner.expect(":")
            if key == "documents":
                for line, record in scanner.array_items():
                    yield _bioc_document(record, name, line)
            else:
                scanner.value()
            if scanner.expect(",}") == "}":
                return
    except TextFormatError as error:
        raise ValueError(f"{name}, line {error.line}: {error.reason}") from None


READERS = {
    "text": read_text,
    "lines": read_lines,
    "jsonl": read_jsonl,
    "pubtator": read_pubtator,
    "bioc": read_bioc,
}


def guess_input_format(path: str | None) -> str:
    suffix = Path(path).suffix.lower() if path else ""
    return {".jsonl": "jsonl", ".pubtator": "pubtator", ".json": "bioc"}.get(suffix, "text")


__all__ = [
    "INPUT_FORMATS",
    "READERS",
    "Annotation",
    "Document",
    "Item",
    "Malformed",
    "Passage",
    "Relation",
    "guess_input_format",
]
