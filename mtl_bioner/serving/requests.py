"""What a client may send to the service, read and checked before anything is tagged.

`POST /tag` takes `{"text": "...", "id": ...}` or `{"texts": ["...", ...], "ids": [...]}`; `POST /plain` (BERN2's
route) takes `{"text": "..."}`. Every problem is a `RequestError` naming the field, with the HTTP status to answer:
400 for a body that is not a JSON object, 422 for a field of the wrong kind, 413 for a text or a batch over the
service's limits. The request names no file: the service reads nothing but the text it is given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """The largest text (characters) and the most texts one request may send."""

    max_chars: int = 100_000
    max_texts: int = 64


class RequestError(ValueError):
    """A bad request: the HTTP status, and a message that starts with the field at fault."""

    def __init__(self, status: int, field: str, problem: str):
        self.status, self.field = status, field
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Document:
    id: Any
    text: str


def read_body(body: bytes) -> dict:
    """The request body as a JSON object."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RequestError(400, "body", f"byte {error.start} is not UTF-8, expected UTF-8 JSON") from None
    except json.JSONDecodeError as error:
        raise RequestError(400, "body", f"not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(payload, dict):
        raise RequestError(400, "body", f"a JSON {type(payload).__name__}, expected an object with text or texts")
    return payload


def _text(value: Any, field: str, limits: Limits) -> str:
    if not isinstance(value, str):
        raise RequestError(422, field, f"a {type(value).__name__}, expected a string")
    if len(value) > limits.max_chars:
        raise RequestError(
            413, field, f"{len(value):,} characters, over this service's --max_chars {limits.max_chars:,}"
        )
    return value


def documents(payload: dict, limits: Limits) -> tuple[list[Document], bool]:
    """The documents of a /tag request and whether it sent one `text` (answered with one result)."""
    unknown = sorted(set(payload) - {"text", "id", "texts", "ids"})
    if unknown:
        raise RequestError(422, unknown[0], "unknown field, expected text (and id) or texts (and ids)")
    if ("text" in payload) == ("texts" in payload):
        raise RequestError(422, "text", "expected exactly one of text (a string) or texts (a list of strings)")
    if "text" in payload:
        if "ids" in payload:
            raise RequestError(422, "ids", "goes with texts; a single text takes id")
        return [Document(payload.get("id"), _text(payload["text"], "text", limits))], True
    texts = payload["texts"]
    if not isinstance(texts, list):
        raise RequestError(422, "texts", f"a {type(texts).__name__}, expected a list of strings")
    if not texts:
        raise RequestError(422, "texts", "an empty list, expected at least one string")
    if len(texts) > limits.max_texts:
        raise RequestError(413, "texts", f"{len(texts)} texts, over this service's --max_texts {limits.max_texts}")
    if "id" in payload:
        raise RequestError(422, "id", "goes with text; a list of texts takes ids")
    ids = payload.get("ids", list(range(len(texts))))
    if not isinstance(ids, list) or len(ids) != len(texts):
        raise RequestError(422, "ids", f"expected a list of {len(texts)} ids, one per text")
    return [Document(ids[index], _text(text, f"texts[{index}]", limits)) for index, text in enumerate(texts)], False


def plain_document(payload: dict, limits: Limits) -> Document:
    """The one text of a BERN2-style /plain request."""
    if "text" not in payload:
        raise RequestError(422, "text", "missing, expected a string")
    return Document(payload.get("id"), _text(payload["text"], "text", limits))


def bern2_annotations(entities: list[dict]) -> list[dict]:
    """Entities as BERN2's /plain answers them: mention, obj (type), span, prob (and the model, when several)."""
    return [
        {
            "mention": entity["text"],
            "obj": entity["type"],
            "span": {"begin": entity["start"], "end": entity["end"]},
            "prob": entity["score"],
            **({"model": entity["model"]} if "model" in entity else {}),
        }
        for entity in entities
    ]


__all__ = ["Document", "Limits", "RequestError", "bern2_annotations", "documents", "plain_document", "read_body"]
