"""`bioner-tag`'s output formats: each writer turns a tagged `Document` into the bytes of its format, with a
header, a separator between documents and a footer, so that documents can be written (and resumed) one by one."""

from __future__ import annotations

import datetime
import json
from typing import Any

from .readers import Document


OUTPUT_FORMATS = ("jsonl", "pubtator", "bioc")


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


__all__ = ["OUTPUT_FORMATS", "WRITERS", "BioCJsonWriter", "JsonlWriter", "PubTatorWriter"]
