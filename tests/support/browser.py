"""Headless Chromium (Debian's, driven by Playwright) against a built site served locally."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Playwright, Request, Response

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without writing an access log line per request to stderr."""

    extra_headers: Mapping[str, str] = {}

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        super().end_headers()


@contextmanager
def serve(root: Path, headers: Mapping[str, str] | None = None) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 (a free port) in a thread, with `headers` on every response;
    yields the base URL."""
    handler_class = type("Handler", (_QuietHandler,), {"extra_headers": dict(headers or {})})
    handler = functools.partial(handler_class, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless, with nothing that talks to the network on its own."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@dataclass
class PageVisit:
    """What one page load in one viewport looked like."""

    url: str
    width: int
    scroll_width: int = 0
    client_width: int = 0
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    @property
    def overflows(self) -> bool:
        return self.scroll_width > self.client_width


def visit(
    browser: Browser, url: str, width: int, screenshot: Path, color_scheme: str = "light"
) -> PageVisit:
    """Load `url` at `width` CSS pixels, record errors and overflow, save a full-page shot."""
    result = PageVisit(url, width)
    context = browser.new_context(
        viewport={"width": width, "height": 800}, color_scheme=color_scheme
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda message: _note_console(result, message))
        page.on("pageerror", lambda error: result.console_errors.append(str(error)))
        page.on("requestfailed", lambda request: _note_failure(result, request))
        page.on("response", lambda response: _note_response(result, response))
        page.goto(url, wait_until="load")
        result.scroll_width, result.client_width = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return result


def _note_console(result: PageVisit, message: ConsoleMessage) -> None:
    if message.type == "error":
        result.console_errors.append(message.text)


def _note_failure(result: PageVisit, request: Request) -> None:
    result.failed_requests.append(f"{request.url}: {request.failure}")


def _note_response(result: PageVisit, response: Response) -> None:
    if response.status >= 400:
        result.failed_requests.append(f"{response.url}: HTTP {response.status}")
