"""Concurrent requests tagged together: one tagger call over the texts of every request that arrived while the
previous call ran (or within a few milliseconds of an idle service), so that under load the service tags in batches
as `bioner-tag` does, instead of one forward pass per request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor


class MicroBatcher:
    """Feeds `tag(texts) -> one result per text` from many coroutines; `submit` returns that request's results.

    A batch closes when it holds `max_texts` texts or `wait_seconds` after its first request; the tagger runs in one
    worker thread, so the event loop keeps accepting requests (which form the next batch) meanwhile. A failing tagger
    call fails the requests of its batch only.
    """

    def __init__(self, tag: Callable[[list[str]], list], *, max_texts: int = 64, wait_seconds: float = 0.005):
        self.tag, self.max_texts, self.wait_seconds = tag, max_texts, wait_seconds
        self._queue: asyncio.Queue | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagger")
        self.batches: list[int] = []  # texts per tagger call, for the curious (and the tests)

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, texts: Sequence[str]) -> list:
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((list(texts), future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            size, deadline = len(batch[0][0]), loop.time() + self.wait_seconds
            while size < self.max_texts:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                batch.append(item)
                size += len(item[0])
            texts = [text for request_texts, _ in batch for text in request_texts]
            self.batches.append(len(texts))
            try:
                results = await loop.run_in_executor(self._executor, self.tag, texts)
            except Exception as error:  # the tagger failed on this batch: its requests get the error, others go on
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            start = 0
            for request_texts, future in batch:
                if not future.done():
                    future.set_result(results[start : start + len(request_texts)])
                start += len(request_texts)


__all__ = ["MicroBatcher"]
