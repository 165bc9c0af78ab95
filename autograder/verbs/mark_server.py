"""The marking page's web server: the standard library's http.server on 127.0.0.1 only.

    server = MarkServer(marking, port=0)          # port 0: any free port
    print(server.url)                             # http://127.0.0.1:PORT/TOKEN/
    server.serve_forever()

Every URL starts with a random token (`secrets.token_urlsafe`), so another user of the machine, or
a web page in the grader's browser, cannot read or change the marks without it; a request with
another token, or with a Host header other than this address (DNS rebinding), gets 403. Marks
arrive as JSON POSTs to `TOKEN/api/mark`, and only there. Every response forbids inline scripts
and every remote resource (Content-Security-Policy): the page's own script and MathJax come from
this server, images only from `data:` URLs.

    GET  /TOKEN/                    the questions, with progress
    GET  /TOKEN/q/QUESTION          one question's answers
    GET  /TOKEN/static/NAME         the page's script and style sheets
    GET  /TOKEN/mathjax/PATH        MathJax 3, from the local copy the PDF export uses
    POST /TOKEN/api/mark            {"question", "group", "points", "comment", "rubric", "clear"}
"""
from __future__ import annotations

import http.server
import json
import logging
import mimetypes
import secrets
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from autograder.errors import AutograderError
from autograder.verbs.escape import TEMPLATES_DIR
from autograder.verbs.export import ExportError, find_mathjax
from autograder.verbs.mark import Marking

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
STATIC_DIR = TEMPLATES_DIR / "mark"
STATIC_FILES = {"mark.js": "text/javascript", "mark.css": "text/css", "mathjax-config.js": "text/javascript"}
MAX_REQUEST_BYTES = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; "
       "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class MarkServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, marking: Marking, port: int = 0):
        super().__init__((HOST, port), _Handler)
        self.marking = marking
        self.token = secrets.token_urlsafe(24)
        self.lock = threading.Lock()  # one change of the marks at a time, and no page built during one
        try:
            self.mathjax: Path | None = find_mathjax()
        except ExportError as error:
            log.warning("the marking page shows math as TeX: %s", error)
            self.mathjax = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/{self.token}/"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: MarkServer

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.info("%s %s", self.address_string(), format % args)

    # ---- routing ---------------------------------------------------------------------------------

    def _route(self) -> list[str] | None:
        """The path's parts after the token, or None (a 403 is sent) for a foreign token or host."""
        host = self.headers.get("Host", "")
        parts = urlsplit(self.path).path.split("/")
        if host != f"{HOST}:{self.server.server_address[1]}" or len(parts) < 2 or \
                not secrets.compare_digest(parts[1], self.server.token):
            self._send(403, "text/plain", b"forbidden\n")
            return None
        return [unquote(part) for part in parts[2:]]

    def do_GET(self):  # noqa: N802 - http.server's name
        route = self._route()
        if route is None:
            return
        marking = self.server.marking
        try:
            if route in ([], [""]):
                with self.server.lock:
                    return self._html(marking.index_page(self.server.token))
            if len(route) == 2 and route[0] == "q":
                with self.server.lock:  # a page never sees the marks half-changed
                    page = marking.question_page(route[1], self.server.token, self.server.mathjax is not None)
                return self._html(page)
            if len(route) == 2 and route[0] == "static" and route[1] in STATIC_FILES:
                return self._send(200, STATIC_FILES[route[1]], (STATIC_DIR / route[1]).read_bytes())
            if len(route) == 2 and route[0] == "static" and route[1] == "code.css":
                return self._send(200, "text/css", marking.stylesheet().encode())
            if route and route[0] == "mathjax" and self.server.mathjax is not None:
                return self._mathjax(route[1:])
        except AutograderError as error:
            return self._send(404, "text/plain", f"{error}\n".encode())
        self._send(404, "text/plain", b"not found\n")

    def do_POST(self):  # noqa: N802
        route = self._route()
        if route is None:
            return
        if route != ["api", "mark"]:
            return self._send(404, "text/plain", b"not found\n")
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get_content_type() != "application/json" or not 0 < length <= MAX_REQUEST_BYTES:
            return self._json(400, {"error": "send the mark as JSON"})
        try:
            request = json.loads(self.rfile.read(length))
            with self.server.lock:
                answer = self.server.marking.save(
                    str(request["question"]), str(request["group"]), request.get("points"),
                    request.get("comment", ""), request.get("rubric", []), bool(request.get("clear")))
        except (ValueError, KeyError, TypeError) as error:
            return self._json(400, {"error": f"bad request: {error}"})
        except AutograderError as error:
            return self._json(400, {"error": str(error)})
        self._json(200, answer)

    # ---- responses -------------------------------------------------------------------------------

    def _mathjax(self, parts: list[str]) -> None:
        root = self.server.mathjax.parent.resolve()
        path = root.joinpath(*parts).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return self._send(404, "text/plain", b"not found\n")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self._send(200, kind, path.read_bytes(), cache=True)

    def _html(self, page: str) -> None:
        self._send(200, "text/html; charset=utf-8", page.encode())

    def _json(self, status: int, value: dict) -> None:
        self._send(status, "application/json", json.dumps(value).encode())

    def _send(self, status: int, kind: str, body: bytes, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.end_headers()
        self.wfile.write(body)
