"""`bioner-serve` with real parts: the server started as a process on a free port, real HTTP requests, a real
browser on its page. No mocks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from utils import TOY_TEXT


AWKWARD = [
    TOY_TEXT,
    "Familial breast and ovar\u00adian cancer\tand the tumour.\n\nAtaxia-telangiectasia (A-T) in naïve CD4+ cells.",
    "  \u200bBreast cancer\u00a0🧬 and ovarian cancer; e.g. Wilms tumour.  ",
    "",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    def __init__(self, url: str, process: subprocess.Popen):
        self.url, self.process = url, process

    def request(self, path: str, body: bytes | dict | None = None, method: str | None = None):
        """(status, decoded JSON or text) of one request."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method or ("POST" if data else "GET"))
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except json.JSONDecodeError:
            return status, raw.decode()


@pytest.fixture(scope="module")
def service(tiny_model_dir):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "mtl_bioner.serving.cli",
        "--model",
        str(tiny_model_dir),
        "--port",
        str(port),
        "--max_chars",
        "2000",
        "--max_texts",
        "8",
        "--log_level",
        "warning",
    ]
    process = subprocess.Popen(
        command, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    running = Service(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bioner-serve exited: {process.stdout.read().decode()[-3000:]}")
        try:
            if running.request("/health")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("bioner-serve did not answer /health within 120 s")
    yield running
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def tagger(tiny_model_dir):
    from mtl_bioner import BioNERTagger

    return BioNERTagger.from_pretrained(tiny_model_dir, device="cpu")


def as_json(value):
    return json.loads(json.dumps(value))


def same_entities(served: list[list[dict]], expected: list[list[dict]]) -> bool:
    """Spans and types exactly; scores to 1e-4, since requests batched together are padded to other lengths than
    the tagger's own batch, which moves float sums in their last bits."""
    spans = [[{k: v for k, v in e.items() if k != "score"} for e in doc] for doc in served]
    assert spans == [[{k: v for k, v in e.items() if k != "score"} for e in doc] for doc in expected]
    scores = [e["score"] for doc in served for e in doc]
    return scores == pytest.approx([e["score"] for doc in expected for e in doc], abs=1e-4)


def test_health_models_and_the_page(service, tagger):
    assert service.request("/health") == (200, {"status": "ok", "models": [tagger.name]})
    status, models = service.request("/models")
    assert status == 200 and models[0]["entity_types"] == tagger.entity_types and models[0]["backend"] == "torch"
    assert set(models[0]) >= {"name", "labels", "base_model", "licence"}
    status, page = service.request("/")
    assert status == 200 and "<textarea" in page
    assert "http://" not in page and "https://" not in page  # no CDN: the page works offline


def test_offsets_are_exact_on_awkward_texts_and_match_the_tagger(service, tagger):
    expected = as_json(tagger(AWKWARD))
    assert sum(map(len, expected)) > 0
    status, single = service.request("/tag", {"text": AWKWARD[1], "id": "doc-1"})
    assert status == 200 and single == {"id": "doc-1", "entities": expected[1]}
    status, batch = service.request("/tag", {"texts": AWKWARD, "ids": ["a", "b", "c", "d"]})
    assert status == 200 and [record["id"] for record in batch["results"]] == ["a", "b", "c", "d"]
    for text, record, entities in zip(AWKWARD, batch["results"], expected, strict=True):
        assert record["entities"] == entities
        assert all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])
    status, plain = service.request("/plain", {"text": AWKWARD[0]})
    assert status == 200 and plain["text"] == AWKWARD[0]
    assert [(a["mention"], a["obj"], a["span"]) for a in plain["annotations"]] == [
        (e["text"], e["type"], {"begin": e["start"], "end": e["end"]}) for e in expected[0]
    ]


def test_fifty_concurrent_requests_get_the_taggers_entities(service, tagger):
    texts = [f"{AWKWARD[index % 3]} Case {index}: breast cancer." for index in range(50)]
    expected = as_json(tagger(texts))
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(
            pool.map(lambda pair: service.request("/tag", {"text": pair[1], "id": pair[0]}), enumerate(texts))
        )
    assert [status for status, _ in answers] == [200] * 50
    assert [answer["id"] for _, answer in answers] == list(range(50))
    assert sum(map(len, expected)) >= 50
    assert same_entities([answer["entities"] for _, answer in answers], expected)


@pytest.mark.parametrize(
    "body, status, field",
    [
        (b'{"text": "unterminated', 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b"\xff\xfe", 400, "body"),
        ({}, 422, "text"),
        ({"text": 42}, 422, "text"),
        ({"texts": []}, 422, "texts"),
        ({"texts": ["fine", None]}, 422, "texts[1]"),
        ({"texts": "not a list"}, 422, "texts"),
        ({"text": "x" * 2001}, 413, "text"),
        ({"texts": ["a"] * 9}, 413, "texts"),
        ({"texts": ["a", "b"], "ids": [1]}, 422, "ids"),
        ({"text": "a", "file": "/etc/passwd"}, 422, "file"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field_and_the_next_request_is_served(service, tagger, body, status, field):
    answer_status, answer = service.request("/tag", body)
    assert (answer_status, answer["field"]) == (status, field), answer
    assert answer["error"].startswith(f"{field}: ")
    assert service.request("/tag", {"text": TOY_TEXT}) == (200, {"id": None, "entities": as_json(tagger(TOY_TEXT))})


def test_the_page_in_a_real_browser_highlights_an_entity(service, tagger, tmp_path):
    browser_path = "/usr/bin/chromium"
    if not os.path.exists(browser_path):
        pytest.skip(f"no browser: {browser_path} is not installed (apt-get install chromium); .ci/run installs it")
    playwright = pytest.importorskip("playwright.sync_api")
    expected = as_json(tagger(TOY_TEXT))
    assert expected
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with playwright.sync_playwright() as runner:
        browser = runner.chromium.launch(executable_path=browser_path, args=flags)
        page = browser.new_page()
        page.goto(service.url + "/")
        page.fill("#text", TOY_TEXT)
        page.click("#tag")
        page.wait_for_selector("#output mark")
        marks = page.locator("#output mark")
        shown = [
            (marks.nth(i).get_attribute("data-type"), marks.nth(i).get_attribute("title"))
            for i in range(marks.count())
        ]
        assert [type_ for type_, _ in shown] == [entity["type"] for entity in expected]
        assert all(title.startswith(f"{type_}, score ") for type_, title in shown)
        first = expected[0]
        assert marks.nth(0).inner_text().startswith(first["text"])
        assert page.locator("#download").get_attribute("href").startswith("blob:")
        page.screenshot(path=str(tmp_path / "page.png"))
        browser.close()
    assert (tmp_path / "page.png").stat().st_size > 5000
