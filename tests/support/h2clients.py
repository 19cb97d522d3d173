"""HTTP/2 load clients over TLS through haproxy, loading pages the way browsers do.

Both are `LoadClient`s (same bounds in time and count, `fetches`, `failures()`, `per_phase`):
- `H2Client(stack, pages)`: raw frames with `h2`. A page, then every asset it references at
  once, as streams of one connection. It handles what a server may do to a connection as
  RFC 9113 allows a client to: after a graceful GOAWAY it reads the streams up to the
  last-stream-id to their end, and sends the others again on a new connection; a stream
  refused with REFUSED_STREAM, or a connection closed before a request went out, was not
  processed either and is sent again. Every resend is counted in `resent` by reason.
- `StrictH2Client(stack, pages)`: httpx with HTTP/2, a page then its assets one at a time, as
  common client libraries do. It fails a request still in flight when a GOAWAY arrives
  (httpcore raises RemoteProtocolError), and never resends anything.

`Load(stack, pages)` runs one HTTP/1.1 client and `h2_per_kind` of each HTTP/2 kind at once, as
a context manager; `phase(name)` names what the test does now, `report()` gives requests and
failures per client kind and phase.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections import Counter

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import httpx
from h2.errors import ErrorCodes
from hyperframe.frame import Frame, GoAwayFrame

from tests.support.deploy_stack import SITE_HOST, Fetch, LoadClient, Stack, asset_paths

# (status, body, error) of one GET; status 0 when no response came.
Answer = tuple[int, bytes, str]


class _GracefulH2(h2.connection.H2Connection):
    """h2 closes its whole connection state on any GOAWAY; RFC 9113 (6.8) lets the streams up
    to the last-stream-id of a graceful one (NO_ERROR) finish. This keeps reading them; the
    caller opens no new stream on the connection."""

    def _receive_goaway_frame(
        self, frame: GoAwayFrame
    ) -> tuple[list[Frame], list[h2.events.Event]]:
        state = self.state_machine.state
        frames, events = super()._receive_goaway_frame(frame)
        if frame.error_code == ErrorCodes.NO_ERROR:
            self.state_machine.state = state
        return frames, events


class _Session:
    """One HTTP/2 connection to haproxy, verified for the site's name, ALPN h2."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname=SITE_HOST)
        if self.sock.selected_alpn_protocol() != "h2":
            self.sock.close()
            raise ConnectionError(f"ALPN chose {self.sock.selected_alpn_protocol()!r}, not h2")
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.h2 = _GracefulH2(config=config)
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())
        self.going_away = False

    def close(self) -> None:
        self.sock.close()

    def get_all(self, paths: list[str]) -> tuple[dict[str, Answer], dict[str, str]]:
        """GET every path at once; return the answers by path, and the paths that were not
        processed (to send again on a new connection) with why."""
        exchange = _Exchange(self.h2)
        try:
            for path in paths:
                exchange.request(path)
            self.sock.sendall(self.h2.data_to_send())
        except OSError:
            # Closed before our requests went out (an idle connection the server let go).
            self.going_away = True
            return {}, dict.fromkeys(paths, "closed before sending")
        problem = "connection closed before the response ended"
        while exchange.open_streams:
            try:
                data = self.sock.recv(65536)
                if not data:
                    break
                for event in self.h2.receive_data(data):
                    problem = exchange.handle(event) or problem
                    self.going_away = self.going_away or exchange.going_away
            except (OSError, h2.exceptions.H2Error) as error:
                problem = f"{type(error).__name__}: {error}"
                break
            self.sock.sendall(self.h2.data_to_send())
        if exchange.open_streams:
            self.going_away = True
        return exchange.finish(problem)


class _Exchange:
    """The streams of one `get_all`: what was asked on each, and what came back."""

    def __init__(self, connection: h2.connection.H2Connection) -> None:
        self.h2 = connection
        self.paths: dict[int, str] = {}
        self.statuses: dict[int, int] = {}
        self.bodies: dict[int, bytearray] = {}
        self.open_streams: set[int] = set()
        self.answers: dict[str, Answer] = {}
        self.resend: dict[str, str] = {}
        self.going_away = False

    def request(self, path: str) -> None:
        stream = self.h2.get_next_available_stream_id()
        headers = [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", SITE_HOST),
            (":path", path),
            ("accept-encoding", "identity"),
        ]
        self.h2.send_headers(stream, headers, end_stream=True)
        self.paths[stream] = path
        self.bodies[stream] = bytearray()
        self.open_streams.add(stream)

    def handle(self, event: h2.events.Event) -> str | None:
        """Take one event in; return why the connection is unusable, if it now is."""
        stream = getattr(event, "stream_id", None)
        if isinstance(event, h2.events.ResponseReceived):
            self.statuses[stream] = int(dict(event.headers)[":status"])
        elif isinstance(event, h2.events.DataReceived):
            self.bodies[stream] += event.data
            self.h2.acknowledge_received_data(event.flow_controlled_length, stream)
        elif isinstance(event, h2.events.StreamEnded):
            self.open_streams.discard(stream)
            body = bytes(self.bodies[stream])
            self.answers[self.paths[stream]] = (self.statuses.get(stream, 0), body, "")
        elif isinstance(event, h2.events.StreamReset):
            self.open_streams.discard(stream)
            code = ErrorCodes(event.error_code).name
            if event.error_code == ErrorCodes.REFUSED_STREAM:
                self.resend[self.paths[stream]] = code
            else:
                self.answers[self.paths[stream]] = (0, b"", f"RST_STREAM {code}")
        elif isinstance(event, h2.events.ConnectionTerminated):
            return self.goaway(event)
        return None

    def goaway(self, event: h2.events.ConnectionTerminated) -> str | None:
        """Streams past the last one the server will process go again elsewhere."""
        self.going_away = True
        for stream in sorted(self.open_streams):
            if stream > event.last_stream_id:
                self.resend[self.paths[stream]] = "GOAWAY"
                self.open_streams.discard(stream)
        if event.error_code != ErrorCodes.NO_ERROR:
            return f"GOAWAY {event.error_code!r}"
        return None

    def finish(self, problem: str) -> tuple[dict[str, Answer], dict[str, str]]:
        for stream in self.open_streams:
            self.answers[self.paths[stream]] = (0, b"", problem)
        return self.answers, self.resend


class H2Client(LoadClient):
    """A browser-like HTTP/2 client; see the module docstring."""

    def __init__(self, stack: Stack, pages: list[str], **bounds: float) -> None:
        super().__init__(stack, pages, **bounds)
        self._context.set_alpn_protocols(["h2"])
        self._session: _Session | None = None
        self.resent: Counter[str] = Counter()

    def _get_all(self, paths: list[str]) -> dict[str, Answer]:
        """Every path's answer; what was not processed is sent once more on a new connection."""
        self.requests += len(paths)
        answers, resend = self._on_session(paths)
        if resend:
            self.resent.update(resend.values())
            again, still = self._on_session(list(resend))
            answers |= again
            answers |= {
                path: (0, b"", f"not processed twice ({why})") for path, why in still.items()
            }
        return answers

    def _on_session(self, paths: list[str]) -> tuple[dict[str, Answer], dict[str, str]]:
        if self._session is None or self._session.going_away:
            self.close()
            try:
                self._session = _Session(self.stack.https_port, self._context)
            except OSError as error:
                return {path: (0, b"", f"connect: {error}") for path in paths}, {}
        return self._session.get_all(paths)

    def visit(self, path: str) -> Fetch:
        status, body, error = self._get_all([path])[path]
        page = Fetch(path, status, hashlib.sha256(body).hexdigest(), error)
        if status != 200:
            return page
        paths = asset_paths(body.decode("utf-8"))
        answers = self._get_all(paths) if paths else {}
        assets = tuple(
            Fetch(p, answers[p][0], hashlib.sha256(answers[p][1]).hexdigest(), answers[p][2])
            for p in paths
        )
        return Fetch(page.path, page.status, page.sha256, page.error, assets)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


class StrictH2Client(LoadClient):
    """httpx over HTTP/2: a request in flight when a GOAWAY arrives fails; see the module."""

    def __init__(self, stack: Stack, pages: list[str], **bounds: float) -> None:
        super().__init__(stack, pages, **bounds)
        self._http = httpx.Client(
            http2=True,
            verify=self._context,
            base_url=f"https://127.0.0.1:{stack.https_port}",
            headers={"Host": SITE_HOST, "Accept-Encoding": "identity"},
            timeout=10,
        )

    def _fetch(self, path: str) -> tuple[Fetch, bytes]:
        self.requests += 1
        try:
            response = self._http.get(path, extensions={"sni_hostname": SITE_HOST})
        except httpx.HTTPError as error:
            return Fetch(path, 0, "", f"{type(error).__name__}: {error}"), b""
        if response.http_version != "HTTP/2":
            raise AssertionError(f"{path}: {response.http_version}, not HTTP/2")
        body = response.content
        return Fetch(path, response.status_code, hashlib.sha256(body).hexdigest()), body

    def visit(self, path: str) -> Fetch:
        page, body = self._fetch(path)
        if page.status != 200:
            return page
        assets = tuple(self._fetch(asset)[0] for asset in asset_paths(body.decode("utf-8")))
        return Fetch(page.path, page.status, page.sha256, page.error, assets)

    def close(self) -> None:
        self._http.close()


class Load:
    """The clients of a load test: one HTTP/1.1, two browser-like HTTP/2 and two strict HTTP/2
    (httpx), all fetching pages then their assets; phases name what the test is doing."""

    def __init__(self, stack: Stack, pages: list[str], h2_per_kind: int = 2) -> None:
        bounds = {"min_seconds": 10, "max_seconds": 240, "max_requests": 2_000_000}
        self.http1 = LoadClient(stack, pages, **bounds)
        self.compliant = [H2Client(stack, pages, **bounds) for _ in range(h2_per_kind)]
        self.strict = [StrictH2Client(stack, pages, **bounds) for _ in range(h2_per_kind)]
        self.clients: list[LoadClient] = [self.http1, *self.compliant, *self.strict]

    def __enter__(self) -> Load:
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients:
            client.stop()

    def phase(self, name: str) -> None:
        for client in self.clients:
            client.phase = name

    def report(self) -> str:
        kinds = [("HTTP/1.1", [self.http1]), ("HTTP/2 compliant", self.compliant)]
        kinds.append(("HTTP/2 strict (httpx)", self.strict))
        lines = []
        for kind, clients in kinds:
            tallies: dict[str, Counter[str]] = {}
            for client in clients:
                for phase, tally in client.per_phase.items():
                    tallies.setdefault(phase, Counter()).update(tally)
            lines += [
                f"  {kind:<22} {phase:<30} {t['requests']:>7} requests {t['failed']:>4} failed"
                for phase, t in tallies.items()
            ]
        resent = sum((client.resent for client in self.compliant), Counter())
        lines.append(f"  HTTP/2 compliant requests sent again: {dict(resent) or 'none'}")
        return "\n".join(lines)

    def failures(self, clients: list[LoadClient], phase: str | None = None) -> int:
        return sum(
            tally["failed"]
            for client in clients
            for name, tally in client.per_phase.items()
            if phase is None or name == phase
        )
