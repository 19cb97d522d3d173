"""A rate-limited ACME CA: an HTTPS front for pebble, which has no rate limiter of its own.

`start_rate_limited_ca(pebble) -> RateLimitedCa` serves, on 127.0.0.1 at a free port:
- `directory_url`: pebble's ACME directory with `newOrder` pointing here and every other URL
  (newNonce, newAccount, ...) still at pebble, so certbot registers its account for real and
  only the order is refused;
- a POST to that newOrder: HTTP 429 with `Content-Type: application/problem+json`, a
  `urn:ietf:params:acme:error:rateLimited` problem whose detail is DETAIL (Let's Encrypt's
  wording), `Retry-After`, and a `Replay-Nonce` fresh from pebble's newNonce, as a CA sends;
- TLS as `localhost` with pebble's own API certificate and key: certbot trusts it already,
  through the ACME_CA_BUNDLE that trusts pebble.

`RateLimitedCa.refused` counts the orders it answered 429; `stop()` shuts it down.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.pebble import Pebble

DIRECTORY_PATH = "/dir"
NEW_ORDER_PATH = "/rate-limited/new-order"
RATE_LIMITED = "urn:ietf:params:acme:error:rateLimited"
DETAIL = (
    "too many certificates (5) already issued for this exact set of identifiers in the last "
    "168h0m0s, retry after 2030-01-01 00:00:00 UTC: see "
    "https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-hostnames"
)
RETRY_AFTER_SECONDS = 3600


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pebble: Pebble) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pebble_context = ssl.create_default_context(cafile=str(pebble.api_cert))
        with urllib.request.urlopen(
            pebble.directory_url, context=self.pebble_context, timeout=10
        ) as answer:
            self.directory: dict[str, Any] = json.load(answer)
        self.directory["newOrder"] = f"https://localhost:{self.server_port}{NEW_ORDER_PATH}"
        self.refused = 0
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(pebble.api_cert, pebble.api_key)
        self.socket = tls.wrap_socket(self.socket, server_side=True)

    def fresh_nonce(self) -> str:
        """A nonce from pebble's newNonce, as the CA behind the limit would hand out."""
        request = urllib.request.Request(self.directory["newNonce"], method="HEAD")
        with urllib.request.urlopen(request, context=self.pebble_context, timeout=10) as answer:
            return answer.headers["Replay-Nonce"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path != DIRECTORY_PATH:
            self._answer(404, "text/plain", b"not found\n")
            return
        self._answer(200, "application/json", json.dumps(self.server.directory).encode())

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != NEW_ORDER_PATH:
            self._answer(404, "text/plain", b"not found\n")
            return
        self.server.refused += 1
        problem = {"type": RATE_LIMITED, "detail": DETAIL, "status": 429}
        self._answer(
            429,
            "application/problem+json",
            json.dumps(problem).encode(),
            {"Replay-Nonce": self.server.fresh_nonce(), "Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    def _answer(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: what the tests need to know is in `refused`."""


@dataclass
class RateLimitedCa:
    """A running rate-limited front for pebble."""

    server: _Server
    thread: threading.Thread

    @property
    def directory_url(self) -> str:
        return f"https://localhost:{self.server.server_port}{DIRECTORY_PATH}"

    @property
    def refused(self) -> int:
        return self.server.refused

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def start_rate_limited_ca(pebble: Pebble) -> RateLimitedCa:
    """Serve pebble's directory with a newOrder that is always rate limited."""
    server = _Server(pebble)
    thread = threading.Thread(target=server.serve_forever, name="rate-limited-ca", daemon=True)
    thread.start()
    return RateLimitedCa(server, thread)
