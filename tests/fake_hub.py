"""A loopback stand-in for the Hugging Face Hub, enough for `create_repo` + `upload_folder` and `push_to_hub`.

Endpoints (see the research notes, huggingface_hub 2.4): `POST /api/repos/create`, `POST /api/validate-yaml`,
`POST /api/models/{repo}/preupload/{rev}` (every file "regular", so content travels inline and no LFS/xet server is
needed), `POST /api/models/{repo}/commit/{rev}` (NDJSON; `file` lines carry base64 content), `HEAD|GET
/{repo}/resolve/{rev}/{path}` (stored files, else 404 EntryNotFound). Everything else is a 404 and is recorded.

Clients must read `HF_ENDPOINT` before huggingface_hub is imported, so the push runs in a subprocess whose
environment points at `FakeHub.endpoint`; the server runs on a thread of the test process.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class FakeHub:
    """`with FakeHub(storage_dir) as hub:` serves on 127.0.0.1; pushed files land in `storage_dir/<org>/<name>/`."""

    def __init__(self, storage_dir: str | Path):
        self.storage = Path(storage_dir)
        self.repos: dict[str, dict] = {}  # repo_id -> create_repo body (e.g. {"private": true, ...})
        self.requests: list[dict] = []  # method, path, authorization of every request
        self.unknown: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _send(self, status: int, payload=None, headers: dict | None = None):
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _record(self):
                hub.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                    }
                )

            def do_POST(self):
                self._record()
                body = self._body()
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:3] == ["api", "repos", "create"]:
                    request = json.loads(body or b"{}")
                    repo_id = (
                        f"{request['organization']}/{request['name']}"
                        if request.get("organization")
                        else request["name"]
                    )
                    hub.repos[repo_id] = request
                    return self._send(
                        200,
                        {
                            "url": f"{hub.endpoint}/{repo_id}",
                            "name": repo_id,
                            "id": repo_id,
                        },
                    )
                if parts[:2] == ["api", "validate-yaml"]:
                    return self._send(200, {"errors": [], "warnings": []})
                if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "preupload":
                    files = json.loads(body).get("files", [])
                    return self._send(
                        200,
                        {
                            "files": [
                                {
                                    "path": f["path"],
                                    "uploadMode": "regular",
                                    "shouldIgnore": False,
                                }
                                for f in files
                            ]
                        },
                    )
                if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "commit":
                    repo_id = f"{parts[2]}/{parts[3]}"
                    for line in body.decode().splitlines():
                        item = json.loads(line)
                        if item.get("key") == "file":
                            value = item["value"]
                            target = hub.storage / repo_id / value["path"]
                            target.parent.mkdir(parents=True, exist_ok=True)
                            target.write_bytes(base64.b64decode(value["content"]))
                    oid = "0" * 40
                    return self._send(
                        200,
                        {
                            "commitUrl": f"{hub.endpoint}/{repo_id}/commit/{oid}",
                            "commitOid": oid,
                            "pullRequestUrl": None,
                        },
                    )
                hub.unknown.append(f"POST {self.path}")
                self._send(404, {"error": "not implemented by FakeHub"})

            def _resolve(self):
                self._record()
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["api", "agent-harnesses"]:  # huggingface_hub's user-agent registry: serve an empty one
                    return self._send(200, {"standardEnvVars": [], "harnesses": {}})
                if len(parts) >= 5 and parts[2] == "resolve":
                    file = hub.storage / parts[0] / parts[1] / "/".join(parts[4:])
                    if file.is_file():
                        data = file.read_bytes()
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(data)))
                        self.send_header("ETag", '"fake"')
                        self.send_header("X-Repo-Commit", "0" * 40)
                        self.end_headers()
                        if self.command == "GET":
                            self.wfile.write(data)
                        return
                    return self._send(
                        404,
                        {"error": "Entry not found"},
                        {"X-Error-Code": "EntryNotFound"},
                    )
                hub.unknown.append(f"{self.command} {self.path}")
                self._send(404, {"error": "not implemented by FakeHub"})

            do_GET = do_HEAD = _resolve

        return Handler
