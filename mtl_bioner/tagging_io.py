"""Streaming readers and writers of `bioner-tag`, and the per-process output with its progress journal.

Readers take a binary stream and yield `Document`s, or `Malformed` records naming the line of a bad document, one at
a time: input is decoded line by line (or block by block for BioC-JSON), so memory stays flat and the line of a
non-UTF-8 byte is known. Writers turn a document into the bytes of the output format. `ShardOutput` appends whole
chunks of documents to an output file and records, after each chunk, how far the output got in a journal
(`<output>.progress`, fsync'd), so a killed run can truncate the output there and continue (`--resume`).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


INPUT_FORMATS = ("text", "lines", "jsonl", "pubtator", "bioc")
OUTPUT_FORMATS = ("jsonl", "pubtator", "bioc")
BOM = "\ufeff"
READ_BLOCK = 1 << 16


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
    """(line number, line without its end, problem) of a binary stream. A line that is not UTF-8 comes decoded with
    replacement characters (so its structure can still be read) and a `Malformed` naming the line and byte."""
    for number, raw in enumerate(stream, start=1):
        problem = None
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            line = raw.decode("utf-8", errors="replace")
            problem = Malformed(name, number, f"not UTF-8 (byte {raw[error.start]:#04x} at column {error.start + 1})")
        if number == 1:
            line = line.removeprefix(BOM)
        yield number, line.rstrip("\r\n"), problem


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


class _JsonScanner:
    """JSON values read one at a time from a binary stream, decoded block by block: a collection of any size is
    read with the memory of its largest document. Keeps the line number of every position for error messages."""

    def __init__(self, stream: IO[bytes], name: str):
        self.stream, self.name = stream, name
        self.decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.buffer, self.position = "", 0
        self.lines_before = 0  # newlines in the text dropped from the buffer's front
        self.newlines_read = 0  # newlines in the bytes decoded so far
        self.eof = False
        self.started = False

    def line_at(self, position: int) -> int:
        return self.lines_before + self.buffer.count("\n", 0, position) + 1

    def error(self, position: int, reason: str) -> ValueError:
        return ValueError(f"{self.name}, line {self.line_at(position)}: {reason}")

    def _fill(self, at_least: int = 0) -> None:
        """Read more; `at_least` grows reads geometrically while one large value is incomplete."""
        if self.position > READ_BLOCK:  # drop what has been consumed
            self.lines_before += self.buffer.count("\n", 0, self.position)
            self.buffer, self.position = self.buffer[self.position :], 0
        block = self.stream.read(max(READ_BLOCK, at_least))
        self.eof = not block
        pending = self.decoder.getstate()[0]
        try:
            text = self.decoder.decode(block, final=self.eof)
        except UnicodeDecodeError as error:
            line = self.newlines_read + (pending + block)[: error.start].count(b"\n") + 1
            raise ValueError(f"{self.name}, line {line}: not UTF-8 (byte {error.object[error.start]:#04x})") from None
        self.newlines_read += block.count(b"\n")
        if text and not self.started:
            text, self.started = text.removeprefix(BOM), True
        self.buffer += text

    def peek(self) -> str:
        """The next non-blank character ("" at the end), without consuming it."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position].isspace():
                self.position += 1
            if self.position < len(self.buffer) or self.eof:
                return self.buffer[self.position : self.position + 1]
            self._fill()

    def expect(self, characters: str) -> str:
        found = self.peek()
        if not found or found not in characters:
            expected = " or ".join(f"`{c}`" for c in characters)
            raise self.error(self.position, f"expected {expected}, found {f'`{found}`' if found else 'the end'}")
        self.position += 1
        return found

    def value(self) -> tuple[Any, int]:
        """The next JSON value and the line it starts on."""
        self.peek()
        while True:
            try:
                value, end = json.JSONDecoder().raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as error:
                truncated = error.pos >= len(self.buffer) - 16 or error.msg.startswith("Unterminated string")
                if truncated and not self.eof:
                    self._fill(len(self.buffer) - self.position)
                    continue
                raise self.error(error.pos, f"not valid JSON ({error.msg})") from None
            if end == len(self.buffer) and not self.eof:  # a number may go on in the next block
                self._fill()
                continue
            line = self.line_at(self.position)
            self.position = end
            return value, line


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
    scanner = _JsonScanner(stream, name)
    scanner.expect("{")
    if scanner.peek() == "}":
        return
    while True:
        key, _ = scanner.value()
        scanner.expect(":")
        if key == "documents":
            scanner.expect("[")
            if scanner.peek() != "]":
                while True:
                    record, line = scanner.value()
                    yield _bioc_document(record, name, line)
                    if scanner.expect(",]") == "]":
                        break
            else:
                scanner.expect("]")
        else:
            scanner.value()
        if scanner.expect(",}") == "}":
            return


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


# Writing


def _one_line(text: str) -> str:
    """Line breaks as spaces: same length, so the offsets still hold."""
    return text.replace("\r", " ").replace("\n", " ")


class JsonlWriter:
    """`{"id", "entities"}` per line; "input_annotations" / "input_relations" when the input had some."""

    separator = ""

    def header(self) -> str:
        return ""

    def footer(self) -> str:
        return ""

    def encode(self, document: Document) -> str:
        record: dict[str, Any] = {"id": document.id, "entities": document.entities}
        if document.input_annotations:
            record["input_annotations"] = [
                {"start": a.start, "end": a.end, "text": a.text, **a.infons} for a in document.input_annotations
            ]
        if document.input_relations:
            record["input_relations"] = [relation.record for relation in document.input_relations]
        return json.dumps(record, ensure_ascii=False) + "\n"


class PubTatorWriter(JsonlWriter):
    """Title and abstract lines, the input's annotation lines as they were, then the new ones."""

    def encode(self, document: Document) -> str:
        title, *others = document.passages
        lines = [f"{document.id}|t|{_one_line(title.text)}"]
        if others:
            lines.append(f"{document.id}|a|{_one_line(self._abstract(document, len(title.text) + 1))}")
        for annotation in document.input_annotations:
            extra = [annotation.infons[key] for key in ("identifier", "extra") if key in annotation.infons]
            columns = [annotation.start, annotation.end, _one_line(annotation.text), annotation.infons.get("type", "")]
            lines.append(annotation.line or "\t".join(map(str, [document.id, *columns, *extra])))
        for relation in document.input_relations:
            infons = relation.record.get("infons", {})
            columns = [infons.get(key, "") for key in ("type", "arg1", "arg2")]
            lines.append(relation.line or "\t".join([document.id, *columns]))
        for entity in document.entities:
            lines.append(
                f"{document.id}\t{entity['start']}\t{entity['end']}\t{_one_line(entity['text'])}\t{entity['type']}"
            )
        return "\n".join(lines) + "\n\n"

    @staticmethod
    def _abstract(document: Document, start: int) -> str:
        """Passages after the first, placed at their offsets (gaps as spaces), so the offsets still hold."""
        pieces, cursor = [], start
        for passage in document.passages[1:]:
            if passage.offset < cursor:
                raise ValueError(
                    f"document {document.id} (line {document.line}): passage offsets overlap or precede the title, "
                    "so it cannot be written as PubTator"
                )
            pieces += [" " * (passage.offset - cursor), passage.text]
            cursor = passage.offset + len(passage.text)
        return "".join(pieces)


class BioCJsonWriter(JsonlWriter):
    """A BioC-JSON collection: header, documents separated by `,\\n`, footer. Annotation ids count from 1 in each
    document (unique where BioC relations refer to them), so a document's bytes do not depend on the ones before."""

    separator = ",\n"

    def __init__(self, date: str | None = None):
        self.date = date or datetime.date.today().isoformat()

    def header(self) -> str:
        header = {"source": "bioner-tag", "date": self.date, "key": "bioc.key", "infons": {}}
        return json.dumps(header, ensure_ascii=False)[:-1] + ', "documents": ['

    def footer(self) -> str:
        return "]}\n"

    def encode(self, document: Document) -> str:
        identifiers = iter(range(1, 1 << 62))
        passages = []
        for passage in document.passages:
            end = passage.offset + len(passage.text)
            annotations = [
                {
                    "id": str(next(identifiers)),
                    "infons": annotation.infons,
                    "text": annotation.text,
                    "locations": [{"offset": annotation.start, "length": annotation.end - annotation.start}],
                }
                for annotation in document.input_annotations
                if passage.offset <= annotation.start and annotation.end <= end
            ]
            for entity in document.entities:
                if passage.offset <= entity["start"] and entity["end"] <= end:
                    infons = {"type": entity["type"], "score": f"{entity['score']:.4f}"}
                    if "model" in entity:
                        infons["model"] = entity["model"]
                    location = {"offset": entity["start"], "length": entity["end"] - entity["start"]}
                    annotations.append(
                        {
                            "id": str(next(identifiers)),
                            "infons": infons,
                            "text": entity["text"],
                            "locations": [location],
                        }
                    )
            passages.append(
                {
                    "offset": passage.offset,
                    "infons": {**passage.infons, "type": passage.type},
                    "text": passage.text,
                    "sentences": [],
                    "annotations": annotations,
                    "relations": [],
                }
            )
        relations = [
            {"id": relation.record.get("id", f"R{index}"), **relation.record}
            for index, relation in enumerate(document.input_relations, start=1)
        ]
        record = {"id": document.id, "infons": document.infons, "passages": passages, "relations": relations}
        return json.dumps(record, ensure_ascii=False)


WRITERS = {"jsonl": JsonlWriter, "pubtator": PubTatorWriter, "bioc": BioCJsonWriter}


# Output with a progress journal


def _fsync(stream: IO[bytes]) -> None:
    stream.flush()
    os.fsync(stream.fileno())


class ShardOutput:
    """One process's output file, its list of skipped documents, and a journal of the chunks written to them.

    The journal (`<path>.progress`) is JSON lines: the run's settings with the bytes of the header, one line per
    chunk written (`chunk` index, `output` and `skipped` end offsets, documents), and `done` with the number of chunks
    in the input. A line is appended only after the chunk's bytes are fsync'd, so on `--resume` the files are cut
    back to the last recorded offsets: a chunk is either entirely there or written again.
    """

    def __init__(self, path: Path, skipped_path: Path, settings: dict[str, Any], *, resume: bool):
        self.path, self.skipped_path = path, skipped_path
        self.journal_path = progress_path(path)
        self.settings = settings
        records = read_journal(self.journal_path) if resume and self.journal_path.exists() else []
        self.date = records[0].get("date") if records else datetime.date.today().isoformat()
        self.merged = any(record.get("merged") for record in records)
        if records:
            if records[0].get("settings") != settings:
                changed = sorted(
                    key
                    for key in settings.keys() | records[0].get("settings", {}).keys()
                    if settings.get(key) != records[0].get("settings", {}).get(key)
                )
                raise ValueError(
                    f"{self.journal_path}: the run being resumed used other settings ({', '.join(changed)}); "
                    "resume with the same arguments, or delete it to start over"
                )
            state = [record for record in records if "output" in record][-1]
            self.chunks_written = [record["chunk"] for record in records if record.get("chunk", -1) >= 0]
            self.documents = sum(record.get("documents", 0) for record in records)
            self.total_chunks = next((record["chunks"] for record in records if record.get("done")), None)
            self.done = self.total_chunks is not None
            self.output = open(path, "r+b")
            self.skipped = open(skipped_path, "a+b")
            self.journal = open(self.journal_path, "r+b")
            if not self.done:  # cut everything after the last recorded chunk
                self.output.truncate(state["output"])
                self.skipped.truncate(state["skipped"])
                self.journal.truncate(self._valid_journal_bytes())
            for stream in (self.output, self.skipped, self.journal):
                stream.seek(0, os.SEEK_END)
        else:
            self.chunks_written, self.documents, self.done, self.total_chunks = [], 0, False, None
            self.output = open(path, "wb")
            self.skipped = open(skipped_path, "wb")
            self.journal = open(self.journal_path, "wb")
        self.last_chunk = self.chunks_written[-1] if self.chunks_written else -1

    def _valid_journal_bytes(self) -> int:
        """Length of the journal's complete lines (a kill may leave half a line)."""
        self.journal.seek(0)
        return self.journal.read().rfind(b"\n") + 1

    def _record(self, record: dict[str, Any]) -> None:
        self.journal.write(json.dumps(record).encode("utf-8") + b"\n")
        _fsync(self.journal)

    def start(self, header: str) -> None:
        """Write the header and the settings, unless the run is resumed."""
        if self.journal.tell() == 0:
            self.output.write(header.encode("utf-8"))
            _fsync(self.output)
            self._record(
                {"settings": self.settings, "date": self.date, "chunk": -1, "output": self.output.tell(), "skipped": 0}
            )

    def write_chunk(self, index: int, documents: list[bytes], skipped: list[bytes]) -> None:
        self.output.write(b"".join(documents))
        self.skipped.write(b"".join(skipped))
        _fsync(self.output)
        _fsync(self.skipped)
        self.documents += len(documents)
        self.last_chunk = index
        self._record(
            {
                "chunk": index,
                "output": self.output.tell(),
                "skipped": self.skipped.tell(),
                "documents": len(documents),
                "skipped_documents": len(skipped),
            }
        )

    def write_partial(self, data: bytes) -> None:
        """Bytes of a chunk that will never be recorded (tests simulate a kill in the middle of a chunk with it)."""
        self.output.write(data)
        self.output.flush()

    def finish(self, footer: str, total_chunks: int) -> None:
        self.output.write(footer.encode("utf-8"))
        _fsync(self.output)
        self._record({"done": True, "chunks": total_chunks})
        self.done, self.total_chunks = True, total_chunks

    def mark_merged(self) -> None:
        self._record({"merged": True})

    def close(self) -> None:
        for stream in (self.output, self.skipped, self.journal):
            stream.close()


def _copy_range(source: IO[bytes], target: IO[bytes], start: int, end: int) -> None:
    source.seek(start)
    while start < end:
        block = source.read(min(READ_BLOCK, end - start))
        if not block:
            raise ValueError(f"{source.name} ends at byte {start}, its journal says {end}")
        target.write(block)
        start += len(block)


def merge_shards(
    parts: list[Path],
    skipped_parts: list[Path],
    output: Path,
    skipped: Path,
    *,
    header: str,
    footer: str,
    separator: str,
) -> int:
    """Concatenate the chunks of several processes' parts in input order (chunk i is in part i % len(parts)) into
    `output` and `skipped` (written next to them and renamed when complete); returns the number of skipped documents.

    Every document in a part starts with `separator`; the output's first document goes without it.
    """
    journals = [read_journal(progress_path(part)) for part in parts]
    totals = {next((r["chunks"] for r in journal if r.get("done")), None) for journal in journals}
    if len(totals) != 1 or None in totals:
        raise ValueError(f"cannot merge {', '.join(map(str, parts))}: not every part is complete")
    if len({json.dumps(journal[0]["settings"], sort_keys=True) for journal in journals}) != 1:
        raise ValueError(f"cannot merge {', '.join(map(str, parts))}: the parts were written with other settings")
    (total,) = totals
    ends = [[(r["output"], r["skipped"]) for r in journal if "output" in r] for journal in journals]
    # Chunk records after the start record: rank r holds chunks r, r + world, ... in that order.
    records = [[r for r in journal if r.get("chunk", -1) >= 0] for journal in journals]
    world = len(parts)
    for rank, rank_records in enumerate(records):
        if [r["chunk"] for r in rank_records] != list(range(rank, total, world)):
            raise ValueError(f"{progress_path(parts[rank])}: chunks {[r['chunk'] for r in rank_records]} recorded")
    temporary = output.with_name(output.name + ".merging")
    temporary_skipped = skipped.with_name(skipped.name + ".merging")
    position = [list(end[0]) for end in ends]  # output and skipped offsets after each part's header
    pending_separator = separator.encode("utf-8")
    skipped_count = 0
    with contextlib.ExitStack() as stack:
        sources = [stack.enter_context(open(part, "rb")) for part in parts]
        skipped_sources = [stack.enter_context(open(part, "rb")) for part in skipped_parts]
        target = stack.enter_context(open(temporary, "wb"))
        skipped_target = stack.enter_context(open(temporary_skipped, "wb"))
        target.write(header.encode("utf-8"))
        for chunk in range(total):
            rank = chunk % world
            record = records[rank][chunk // world]
            start, skipped_start = position[rank]
            if pending_separator and record["output"] > start:
                sources[rank].seek(start)
                if sources[rank].read(len(pending_separator)) != pending_separator:
                    raise ValueError(f"{parts[rank]}: a document without its separator at byte {start}")
                start, pending_separator = start + len(pending_separator), b""
            _copy_range(sources[rank], target, start, record["output"])
            _copy_range(skipped_sources[rank], skipped_target, skipped_start, record["skipped"])
            skipped_count += record.get("skipped_documents", 0)
            position[rank] = [record["output"], record["skipped"]]
        target.write(footer.encode("utf-8"))
        _fsync(target)
        _fsync(skipped_target)
    os.replace(temporary_skipped, skipped)
    os.replace(temporary, output)
    return skipped_count


def progress_path(path: Path) -> Path:
    return path.with_name(path.name + ".progress")


def read_journal(path: Path) -> list[dict[str, Any]]:
    """The complete records of a journal (a half-written last line is left out)."""
    records = []
    with open(path, "rb") as stream:
        for line in stream:
            if not line.endswith(b"\n"):
                break
            records.append(json.loads(line))
    return records


__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "READERS",
    "WRITERS",
    "Annotation",
    "BioCJsonWriter",
    "Document",
    "JsonlWriter",
    "Malformed",
    "Passage",
    "PubTatorWriter",
    "Relation",
    "ShardOutput",
    "guess_input_format",
    "merge_shards",
    "progress_path",
    "read_journal",
]
