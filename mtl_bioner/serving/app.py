"""The service: `POST /tag` (and BERN2's `POST /plain`), `GET /health`, `GET /models` and the page at `GET /`.

Entities are the objects `bioner-tag` writes (start, end, text, type, score; with several models also model and
overlapping). Requests are tagged in batches (`batching.MicroBatcher`); a bad request gets a 4xx naming the field
(`requests`) and the service goes on; a failure inside the tagger is a 500 for the requests of that batch only.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from .batching import MicroBatcher
from .requests import Limits, RequestError, bern2_annotations, documents, plain_document, read_body


PAGE = Path(__file__).resolve().parent / "page.html"  # package data: no build step, no external resources


def create_app(
    tag,
    models: list[dict],
    *,
    limits: Limits | None = None,
    max_batch_texts: int = 64,
    wait_seconds: float = 0.005,
) -> FastAPI:
    """The application over `tag(texts) -> entities per text` (a `BioNERTagger` or `MultiTagger`); `models`
    describes the loaded models for `GET /models`."""
    limits = limits or Limits()
    batcher = MicroBatcher(tag, max_texts=max_batch_texts, wait_seconds=wait_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title="bioner-serve", description="Biomedical named-entity recognition with CRF taggers", lifespan=lifespan
    )
    app.state.batcher = batcher
    page = PAGE.read_text(encoding="utf-8")

    @app.exception_handler(RequestError)
    async def bad_request(_: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"error": str(error), "field": error.field}, status_code=error.status)

    @app.exception_handler(Exception)
    async def failure(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"error": f"tagging failed: {type(error).__name__}: {error}"}, status_code=500)

    @app.post("/tag")
    async def tag_documents(request: Request) -> dict:
        """`{"text", "id"}` -> `{"id", "entities"}`; `{"texts", "ids"}` -> `{"results": [{"id", "entities"}]}`."""
        docs, single = documents(read_body(await request.body()), limits)
        tagged = await batcher.submit([doc.text for doc in docs])
        records = [{"id": doc.id, "entities": entities} for doc, entities in zip(docs, tagged, strict=True)]
        return records[0] if single else {"results": records}

    @app.post("/plain")
    async def plain(request: Request) -> dict:
        """BERN2's route: `{"text"}` -> `{"text", "annotations": [{"mention", "obj", "span", "prob"}], "timestamp"}`."""
        doc = plain_document(read_body(await request.body()), limits)
        (entities,) = await batcher.submit([doc.text])
        return {"text": doc.text, "annotations": bern2_annotations(entities), "timestamp": time.ctime()}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "models": [model["name"] for model in models]}

    @app.get("/models")
    async def list_models() -> list[dict]:
        return models

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return page

    return app


__all__ = ["PAGE", "create_app"]
