"""`bioner-serve`: the taggers as an HTTP service (FastAPI under uvicorn) and a page to look at their entities.

`requests` reads and checks what clients send, `batching` gathers concurrent requests into one tagger call, `app`
is the FastAPI application, `page.html` the page served at `/`, and `cli` the command."""
