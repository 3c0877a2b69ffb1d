"""`bioner-tag`: tag documents with one or several XLNet-CRF checkpoints from the command line.

    bioner-tag --model runs/disease/export/NCBI-disease --input abstracts.txt --input_format lines > tagged.jsonl
    bioner-tag --model chem/ disease/ --input docs.pubtator --output tagged.pubtator --output_format pubtator

Input formats (`--input_format`, default guessed from the file name: .jsonl -> jsonl, .pubtator -> pubtator,
anything else and stdin -> text):
  text      the whole input is one document (id: the file name without extension, or "stdin");
  lines     one document per non-empty line (id: the line number);
  jsonl     one JSON object per line with "text" and optionally "id" (default: the line number);
  pubtator  PubTator blocks `PMID|t|title` and `PMID|a|abstract`; annotation lines are ignored.
Output formats (`--output_format`, default jsonl):
  jsonl     {"id", "entities": [{"start", "end", "text", "type", "score"(, "model", "overlapping")}]} per document;
  pubtator  the title/abstract lines then `PMID<TAB>start<TAB>end<TAB>text<TAB>type` per entity; documents that
            were not PubTator become a title line, with line breaks written as spaces (offsets unchanged);
  bioc      a BioC-JSON collection, one passage per title/abstract/text, annotations with passage offsets.
Offsets are character (code point) offsets into the document; a PubTator abstract starts at len(title) + 1.
Title and abstract are tagged as separate passages, so no entity spans both.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any


INPUT_FORMATS = ("text", "lines", "jsonl", "pubtator")
OUTPUT_FORMATS = ("jsonl", "pubtator", "bioc")
DOCUMENTS_PER_CHUNK = 64


@dataclass
class Passage:
    offset: int
    text: str
    type: str


@dataclass
class Document:
    id: str
    passages: list[Passage]
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The passages joined with one space each (PubTator's title + " " + abstract)."""
        return " ".join(passage.text for passage in self.passages)


def read_text(stream: IO[str], name: str) -> Iterator[Document]:
    yield Document(name, [Passage(0, stream.read(), "text")])


def read_lines(stream: IO[str], name: str) -> Iterator[Document]:
    for number, line in enumerate(stream, start=1):
        line = line.rstrip("\r\n")
        if line.strip():
            yield Document(str(number), [Passage(0, line, "text")])


def read_jsonl(stream: IO[str], name: str) -> Iterator[Document]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{name}, line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f'{name}, line {number}: expected an object with a string "text" field')
        yield Document(str(record.get("id", number)), [Passage(0, record["text"], "text")])


def read_pubtator(stream: IO[str], name: str) -> Iterator[Document]:
    current: dict[str, Any] | None = None

    def finish():
        title, abstract = current.get("t", ""), current.get("a")
        passages = [Passage(0, title, "title")]
        if abstract is not None:
            passages.append(Passage(len(title) + 1, abstract, "abstract"))
        return Document(current["id"], passages)

    for number, line in enumerate(stream, start=1):
        line = line.rstrip("\r\n")
        if not line.strip():
            if current is not None:
                yield finish()
            current = None
            continue
        head, bar, rest = line.partition("|")
        if bar and rest[:2] in ("t|", "a|") and "\t" not in head:
            if current is not None and current["id"] != head:
                yield finish()
                current = None
            current = current or {"id": head}
            current[rest[0]] = rest[2:]
        elif "\t" in line and current is not None:
            continue  # an existing annotation line
        else:
            raise ValueError(
                f"{name}, line {number}: expected `PMID|t|title`, `PMID|a|abstract` or an annotation line"
            )
    if current is not None:
        yield finish()


READERS = {
    "text": read_text,
    "lines": read_lines,
    "jsonl": read_jsonl,
    "pubtator": read_pubtator,
}


def guess_input_format(path: str | None) -> str:
    suffix = Path(path).suffix.lower() if path else ""
    return {".jsonl": "jsonl", ".pubtator": "pubtator"}.get(suffix, "text")


def tag_documents(tagger, documents: list[Document]) -> None:
    """Fill each document's `entities` (document offsets); all passages of all documents go in one batched call."""
    passages = [(document, passage) for document in documents for passage in document.passages]
    tagged = tagger([passage.text for _, passage in passages])
    for (document, passage), entities in zip(passages, tagged, strict=True):
        for entity in entities:
            document.entities.append(
                {
                    **entity,
                    "start": entity["start"] + passage.offset,
                    "end": entity["end"] + passage.offset,
                }
            )


class JsonlWriter:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, document: Document) -> None:
        self.stream.write(json.dumps({"id": document.id, "entities": document.entities}, ensure_ascii=False) + "\n")

    def close(self) -> None:
        pass


class PubTatorWriter(JsonlWriter):
    def write(self, document: Document) -> None:
        def one_line(text: str) -> str:  # same length, so the offsets still hold
            return text.replace("\r", " ").replace("\n", " ")

        passages = document.passages
        self.stream.write(f"{document.id}|t|{one_line(passages[0].text)}\n")
        if len(passages) > 1:
            self.stream.write(f"{document.id}|a|{one_line(passages[1].text)}\n")
        for entity in document.entities:
            self.stream.write(
                f"{document.id}\t{entity['start']}\t{entity['end']}\t{one_line(entity['text'])}\t{entity['type']}\n"
            )
        self.stream.write("\n")


class BioCJsonWriter(JsonlWriter):
    """A BioC-JSON collection, written document by document."""

    def __init__(self, stream: IO[str]):
        super().__init__(stream)
        header = {
            "source": "bioner-tag",
            "date": datetime.date.today().isoformat(),
            "key": "bioc.key",
            "infons": {},
        }
        self.stream.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "documents": [')
        self.first = True
        self.annotation_ids = itertools.count(1)

    def write(self, document: Document) -> None:
        passages = []
        for passage in document.passages:
            annotations = []
            for entity in document.entities:
                if passage.offset <= entity["start"] and entity["end"] <= passage.offset + len(passage.text):
                    infons = {"type": entity["type"], "score": f"{entity['score']:.4f}"}
                    if "model" in entity:
                        infons["model"] = entity["model"]
                    annotations.append(
                        {
                            "id": str(next(self.annotation_ids)),
                            "infons": infons,
                            "text": entity["text"],
                            "locations": [
                                {
                                    "offset": entity["start"],
                                    "length": entity["end"] - entity["start"],
                                }
                            ],
                        }
                    )
            passages.append(
                {
                    "offset": passage.offset,
                    "infons": {"type": passage.type},
                    "text": passage.text,
                    "sentences": [],
                    "annotations": annotations,
                    "relations": [],
                }
            )
        record = {
            "id": document.id,
            "infons": {},
            "passages": passages,
            "relations": [],
        }
        self.stream.write(("" if self.first else ",\n") + json.dumps(record, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.stream.write("]}\n")


WRITERS = {"jsonl": JsonlWriter, "pubtator": PubTatorWriter, "bioc": BioCJsonWriter}


def _chunks(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    iterator = iter(documents)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bioner-tag",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", nargs="+", required=True, help="Checkpoint folder(s) or Hub id(s).")
    parser.add_argument("--input", help="Input file (default: stdin).")
    parser.add_argument("--output", help="Output file (default: stdout).")
    parser.add_argument(
        "--input_format",
        choices=INPUT_FORMATS,
        help="Default: from the file name, else text.",
    )
    parser.add_argument("--output_format", choices=OUTPUT_FORMATS, default="jsonl")
    parser.add_argument("--batch_size", type=int, default=32, help="Windows per forward pass.")
    parser.add_argument(
        "--device",
        default=None,
        help="cpu, cuda, cuda:1, ... (default: cuda if available).",
    )
    parser.add_argument("--max_seq_length", type=int, default=512, help="Pieces per window.")
    parser.add_argument(
        "--stride",
        type=int,
        default=128,
        help="Overlap of consecutive windows, in pieces.",
    )
    parser.add_argument(
        "--overlaps",
        choices=("keep", "resolve"),
        default="keep",
        help="Several models: keep all spans (marking overlaps) or keep the best non-overlapping ones.",
    )
    parser.add_argument(
        "--trust_remote_code",
        action="store_true",
        help="Load checkpoints through their own code.",
    )
    parser.add_argument("--no_progress", action="store_true", help="No progress bar on stderr.")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (
        OSError,
        ValueError,
        TypeError,
    ) as error:  # bad input or checkpoint: one line, not a traceback
        print(f"bioner-tag: error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .inference import BioNERTagger

    input_format = args.input_format or guess_input_format(args.input)
    name = Path(args.input).stem if args.input else "stdin"
    tagger = BioNERTagger.from_pretrained(
        args.model if len(args.model) > 1 else args.model[0],
        device=args.device,
        batch_size=args.batch_size,
        max_seq_length=args.max_seq_length,
        stride=args.stride,
        overlaps=args.overlaps,
        trust_remote_code=args.trust_remote_code,
    )
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open(args.input, encoding="utf-8")) if args.input else sys.stdin
        sink = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
        writer = WRITERS[args.output_format](sink)
        progress = stack.enter_context(
            tqdm(
                desc="Documents",
                unit="doc",
                disable=args.no_progress or None,
                file=sys.stderr,
            )
        )
        for chunk in _chunks(READERS[input_format](source, name), DOCUMENTS_PER_CHUNK):
            tag_documents(tagger, chunk)
            for document in chunk:
                writer.write(document)
            progress.update(len(chunk))
        writer.close()
    return 0


__all__ = [
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "Document",
    "Passage",
    "build_parser",
    "main",
    "tag_documents",
]


if __name__ == "__main__":
    sys.exit(main())
