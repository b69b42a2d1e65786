"""Fake Jira, Zendesk and webhook services for pytest-httpserver, and the constants the ticket tests share.

The fakes run on a real HTTP server on 127.0.0.1: they keep state like the real services (issues, labels,
external ids, idempotency keys), record every request exactly as received, and can be told to answer an
error status or to stall until the client has given up waiting (hung up), however long it waits.
"""

from __future__ import annotations

import base64
import json
import re
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SECRET = "hunter2-s3cr3t"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
ZIP = b"PK\x03\x04" + b"trace-bytes" * 50
JIRA_ENV = {"JIRA_USER": "bot@example.com", "JIRA_TOKEN": "jira-token-123"}
ZENDESK_ENV = {"ZENDESK_EMAIL": "agent@example.com", "ZENDESK_TOKEN": "zd-token-456"}
WEBHOOK_ENV = {"TICKETS_SECRET": "hook-secret-789"}
FAST = 30.0  # client timeout of ordinary tests: never reached on loopback, even on a loaded machine
SHORT = 0.5  # client timeout of the timeout tests: the fakes' stall outlasts it whatever it is
STALL_CAP_S = 60.0  # ends a stall whose client never hangs up (it would then fail the test)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    data: bytes
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, str, bytes]] = field(default_factory=list)  # field, filename, type, bytes


def _seen(request: Request) -> Seen:
    is_multipart = request.mimetype == "multipart/form-data"
    data = b"" if is_multipart else request.get_data()
    return Seen(
        method=request.method,
        path=request.path,
        args=dict(request.args),
        headers=dict(request.headers),
        data=data,
        json=json.loads(data) if request.mimetype == "application/json" and data else None,
        form=dict(request.form) if is_multipart else {},
        files=[(name, f.filename or "", f.mimetype, f.read()) for name, f in request.files.items(multi=True)],
    )


@dataclass
class Fault:
    endpoint: str
    status: int | None = None
    stall: bool = False
    apply_first: bool = False  # True: the effect happens, only the answer is late (a "lost response")


class FakeService:
    """Base of the fakes: records requests and injects faults per endpoint."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.base_url = server.url_for("/").rstrip("/")
        self.requests: list[Seen] = []
        self._faults: list[Fault] = []

    def fail(self, endpoint: str, status: int, times: int = 1) -> None:
        self._faults += [Fault(endpoint, status=status)] * times

    def stall(self, endpoint: str, *, apply_first: bool) -> None:
        self._faults.append(Fault(endpoint, stall=True, apply_first=apply_first))

    def calls(self, method: str, pattern: str) -> list[Seen]:
        return [s for s in self.requests if s.method == method and re.fullmatch(pattern, s.path)]

    def route(
        self, method: str, uri: str | re.Pattern[str], endpoint: str, fn: Callable[[Seen], Any]
    ) -> None:
        def handler(request: Request) -> Response:
            seen = _seen(request)
            self.requests.append(seen)
            fault = next((f for f in self._faults if f.endpoint == endpoint), None)
            if fault is not None:
                self._faults.remove(fault)
                if fault.status is not None:
                    return _json({"error": "injected"}, fault.status)
                if not fault.apply_first:
                    _until_the_client_hangs_up(request)
                    return _json({"error": "too late"}, 504)
            answer = fn(seen)
            if fault is not None:
                _until_the_client_hangs_up(request)
            return answer if isinstance(answer, Response) else _json(answer[0], answer[1])

        self.server.expect_request(uri, method=method).respond_with_handler(handler)


def _until_the_client_hangs_up(request: Request) -> None:
    """Hold the answer until the client closes its connection (it timed out): later than it waits, on any
    machine. The server answers one request at a time, so the client's retry waits for this to end."""
    sock = request.environ["werkzeug.socket"]
    deadline = time.monotonic() + STALL_CAP_S
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            continue
        try:
            if not sock.recv(1, socket.MSG_PEEK):
                return  # end of stream: the client hung up
        except OSError:
            return  # reset by the client
        raise AssertionError("the client sent more while its request was stalled")
    raise AssertionError(f"the client was still waiting after {STALL_CAP_S:g} s: it has no timeout")


def _json(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


class FakeJira(FakeService):
    """Issues with labels and attachments, searchable by label through /rest/api/2/search/jql."""

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.issues: dict[str, dict[str, Any]] = {}
        self.route("GET", "/rest/api/2/search/jql", "search", self._search)
        self.route("POST", "/rest/api/2/issue", "create", self._create)
        self.route("POST", re.compile(r"/rest/api/2/issue/[^/]+/attachments"), "attach", self._attach)
        self.route("POST", re.compile(r"/rest/api/2/issue/[^/]+/comment"), "comment", self._comment)

    def _search(self, seen: Seen) -> tuple[Any, int]:
        match = re.fullmatch(r'labels = "([^"]+)"', seen.args.get("jql", ""))
        assert match, f"unexpected JQL {seen.args.get('jql')!r}"
        found = [
            {"key": key, "fields": {"attachment": [{"filename": a[0]} for a in issue["attachments"]]}}
            for key, issue in self.issues.items()
            if match.group(1) in issue["fields"]["labels"]
        ]
        return {"issues": found}, 200

    def _create(self, seen: Seen) -> tuple[Any, int]:
        key = f"SUP-{len(self.issues) + 1}"
        self.issues[key] = {"fields": seen.json["fields"], "attachments": [], "comments": []}
        return {"id": str(10000 + len(self.issues)), "key": key, "self": f"{self.base_url}/issue/{key}"}, 201

    def _attach(self, seen: Seen) -> tuple[Any, int]:
        key = seen.path.split("/")[-2]
        self.issues[key]["attachments"] += [(name, data) for _, name, _, data in seen.files]
        return [{"filename": name} for _, name, _, _ in seen.files], 200

    def _comment(self, seen: Seen) -> tuple[Any, int]:
        self.issues[seen.path.split("/")[-2]]["comments"].append(seen.json["body"])
        return {"id": "1"}, 201


class FakeZendesk(FakeService):
    """Uploads with tokens, tickets with external ids, comments through PUT."""

    def __init__(self, server: HTTPServer) -> None:
        super().__init__(server)
        self.uploads: dict[str, tuple[str, str, bytes]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.route("GET", "/api/v2/tickets.json", "find", self._find)
        self.route("POST", "/api/v2/uploads.json", "upload", self._upload)
        self.route("POST", "/api/v2/tickets.json", "create", self._create)
        self.route("PUT", re.compile(r"/api/v2/tickets/\d+\.json"), "update", self._update)

    def _find(self, seen: Seen) -> tuple[Any, int]:
        key = seen.args["external_id"]
        found = [{"id": i, **t} for i, t in self.tickets.items() if t["external_id"] == key]
        return {"tickets": found, "count": len(found)}, 200

    def _upload(self, seen: Seen) -> tuple[Any, int]:
        token = f"tok{len(self.uploads) + 1}"
        self.uploads[token] = (seen.args["filename"], seen.headers["Content-Type"], seen.data)
        return {"upload": {"token": token, "attachment": {"file_name": seen.args["filename"]}}}, 201

    def _create(self, seen: Seen) -> tuple[Any, int]:
        ticket_id = 100 + len(self.tickets) + 1
        self.tickets[ticket_id] = {**seen.json["ticket"], "comments": [seen.json["ticket"]["comment"]]}
        return {"ticket": {"id": ticket_id, "external_id": seen.json["ticket"]["external_id"]}}, 201

    def _update(self, seen: Seen) -> tuple[Any, int]:
        ticket_id = int(seen.path.rsplit("/", 1)[1].removesuffix(".json"))
        self.tickets[ticket_id]["comments"].append(seen.json["ticket"]["comment"])
        return {"ticket": {"id": ticket_id}}, 200


class FakeWebhook(FakeService):
    """A receiver that treats a repeated Idempotency-Key as the same delivery."""

    def __init__(self, server: HTTPServer, path: str = "/hooks/tickets") -> None:
        super().__init__(server)
        self.url = self.base_url + path
        self.deliveries: dict[str, Seen] = {}
        self.route("POST", path, "post", self._post)

    def _post(self, seen: Seen) -> tuple[Any, int]:
        key = seen.headers["Idempotency-Key"]
        self.deliveries.setdefault(key, seen)
        number = list(self.deliveries).index(key) + 1
        return {"id": f"HOOK-{number}", "url": f"https://desk.example.test/t/{number}"}, 200
