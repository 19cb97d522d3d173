"""The development server: output/ over HTTP on loopback, as nginx would serve it, plus the
live reload.

HTML pages get a stylesheet and a script tag added while they are served (output/ stays
byte-identical to `pelican content`), and the last build's problem lines as a banner. Every
response carries the site's Content-Security-Policy (`script-src 'self'`): the reload script
is a file, /__reload.js, listening on /__events (server-sent events) for a newer build.
"""

from __future__ import annotations

import functools
import html
import re
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from plugins import contract
from plugins.serverconfig.security import CONTENT_SECURITY_POLICY, SEARCH_CONTENT_SECURITY_POLICY

from .status import BuildStatus

HERE = Path(__file__).resolve().parent
RELOAD_SCRIPT = "/__reload.js"
RELOAD_STYLE = "/__reload.css"
EVENTS = "/__events"
PROBLEMS_ID = "fab-serve-problems"
_OWN_FILES = {
    RELOAD_SCRIPT: ("reload.js", "text/javascript"),
    RELOAD_STYLE: ("reload.css", "text/css"),
}
# An idle event stream sends a comment this often (seconds), and ends after this many: the
# browser's EventSource reconnects by itself.
KEEPALIVE_SECONDS = 15.0
KEEPALIVES_PER_STREAM = 240
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)
_BODY_START = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
_MINIMAL_404 = b"<!doctype html><html><head><title>Not found</title></head><body></body></html>"


def with_reload(page: bytes, generation: int, problems: tuple[str, ...]) -> bytes:
    """`page` with the reload stylesheet and script in its head, and `problems` as a banner
    at the top of its body."""
    tags = (
        f'<link rel="stylesheet" href="{RELOAD_STYLE}">'
        f'<script src="{RELOAD_SCRIPT}?build={generation}" defer></script>'
    ).encode()
    head = _HEAD_END.search(page)
    page = page[: head.start()] + tags + page[head.start() :] if head else tags + page
    if problems:
        lines = "\n".join(html.escape(line) for line in problems)
        banner = f'<pre id="{PROBLEMS_ID}" role="alert">{lines}</pre>'.encode()
        body = _BODY_START.search(page)
        at = body.end() if body else len(page)
        page = page[:at] + banner + page[at:]
    return page


def policy_for(path: str) -> str:
    """The CSP nginx sends for `path`: the search page and Pagefind's folder run WebAssembly."""
    search = (f"/{contract.SEARCH_PAGE}", f"/{contract.SEARCH_URL}", f"/{contract.SEARCH_BUNDLE}/")
    return SEARCH_CONTENT_SECURITY_POLICY if path.startswith(search) else CONTENT_SECURITY_POLICY


class DevRequestHandler(SimpleHTTPRequestHandler):
    """Files from output/, HTML with the reload added, the reload's own files and events."""

    status: BuildStatus

    def log_message(self, format: str, *args: object) -> None:
        """No line per request: the terminal is for the builds."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", policy_for(urlsplit(self.path).path))
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path in _OWN_FILES:
            name, content_type = _OWN_FILES[path]
            self._send(HTTPStatus.OK, content_type, (HERE / name).read_bytes())
        elif path == EVENTS:
            self._events()
        elif (page := self._page(path)) is not None:
            self._send_page(HTTPStatus.OK, page)
        elif Path(self.translate_path(self.path)).is_file():
            super().do_GET()
        else:
            not_found = Path(self.directory, "404.html")
            body = not_found.read_bytes() if not_found.is_file() else _MINIMAL_404
            self._send_page(HTTPStatus.NOT_FOUND, body)

    def _page(self, path: str) -> bytes | None:
        """The HTML file a path names (a folder: its index.html), if there is one."""
        file = Path(self.translate_path(path))
        if file.is_dir():
            if not path.endswith("/"):
                return None  # SimpleHTTPRequestHandler redirects to the slash.
            file = file / "index.html"
        if file.suffix.lower() not in (".html", ".htm") or not file.is_file():
            return None
        return file.read_bytes()

    def _send_page(self, code: HTTPStatus, page: bytes) -> None:
        outcome = self.status.outcome
        body = with_reload(page, outcome.generation, outcome.problems)
        self._send(code, "text/html; charset=utf-8", body)

    def _send(self, code: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """A `build` event as soon as a build newer than the page's has finished."""
        query = parse_qs(urlsplit(self.path).query)
        try:
            seen = int(query.get("build", ["0"])[0])
        except ValueError:
            seen = 0
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            for _ in range(KEEPALIVES_PER_STREAM):
                if self.status.wait_newer(seen, KEEPALIVE_SECONDS):
                    generation = self.status.outcome.generation
                    self.wfile.write(f"event: build\ndata: {generation}\n\n".encode())
                    self.wfile.flush()
                    return
                if self.status.closed:
                    return
                self.wfile.write(b": waiting\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # The tab closed or reloaded.


class DevServer:
    """output/ on http://127.0.0.1:<port>, served from threads until `stop`."""

    def __init__(self, output: Path, port: int, status: BuildStatus) -> None:
        handler = type("Handler", (DevRequestHandler,), {"status": status})
        self.status = status
        self.httpd = ThreadingHTTPServer(
            ("127.0.0.1", port), functools.partial(handler, directory=str(output))
        )
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """End every event stream, stop serving, close the socket."""
        self.status.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=10)
