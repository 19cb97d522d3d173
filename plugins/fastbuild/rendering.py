"""Rendering pages: one page as Pelican's writer renders it, and many on every core.

The writer takes each page's fingerprint where Pelican asks for it, and hands a page that
must be rendered here instead of rendering it (`Session.defer`). Once Pelican's generators
are done (fastbuild's `finalized`, listed before every plugin that reads written pages), the
pages are rendered by fork workers, each its share, and written there; the build process
then records what each file holds. A page whose rendering logs anything, or fails, is
rendered again in the build process, so messages and errors reach the user as Pelican words
them. With few pages or one worker they are rendered in the build process.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .reading import counting_warnings, quiet_worker

# Below this many pages per worker, starting the workers costs more than it saves.
MIN_PAGES_PER_WORKER = 8
SHARES_PER_WORKER = 4


@dataclass
class RenderedPage:
    """One file the build renders (or kept), with what it is rendered from."""

    path: Path
    template: jinja2.Template
    context: dict[str, Any]


def render(shared: dict[str, Any], page: RenderedPage) -> str:
    """The page's text, rendered as Pelican's writer renders it."""
    # Pelican's writer sets this on the shared context before each render: posts resolve
    # their links against it (pelican/writers.py, _write_file).
    if page.context.get("localsiteurl"):
        shared["localsiteurl"] = page.context["localsiteurl"]
    return page.template.render(page.context)


def write(page: RenderedPage, text: str) -> None:
    """Write the page as Pelican's writer does (UTF-8, folders made)."""
    page.path.parent.mkdir(parents=True, exist_ok=True)
    page.path.write_text(text, encoding="utf-8")


# What the workers render: set before they fork, so they inherit it (contexts hold every
# post of the site, which would cost more to pickle than to render).
_PAGES: list[RenderedPage] = []
_SHARED: list[dict[str, Any]] = []


def render_all(
    shared: dict[str, Any], pages: list[RenderedPage], workers: int
) -> Iterator[RenderedPage]:
    """Render and write `pages`, yielding each once its file is written."""
    if workers < 2 or len(pages) < MIN_PAGES_PER_WORKER * workers:
        for page in pages:
            write(page, render(shared, page))
            yield page
        return
    # Interleaved shares (neighbouring pages cost alike: a tag's pages, a year's posts), a few
    # per worker, so that progress moves while they render.
    count = min(len(pages), workers * SHARES_PER_WORKER)
    shares = [range(start, len(pages), count) for start in range(count)]
    again = []
    _PAGES[:], _SHARED[:] = pages, [shared]
    try:
        with ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("fork"), initializer=quiet_worker
        ) as pool:
            for share, written in zip(shares, pool.map(_render_share, shares), strict=True):
                yield from (pages[index] for index in written)
                again += sorted(set(share) - set(written))
    finally:
        _PAGES.clear()
        _SHARED.clear()
    for index in again:
        # It logged or failed in a worker: again here, where its messages belong.
        write(pages[index], render(shared, pages[index]))
        yield pages[index]


def _render_share(indices: range) -> list[int]:
    """In a worker: render and write the pages at `indices`; those it wrote."""
    written = []
    for index in indices:
        page = _PAGES[index]
        try:
            with counting_warnings() as warnings:
                text = render(_SHARED[0], page)
        except Exception:
            continue  # Rendered again by the build process, which raises it as Pelican would.
        if warnings[0] == 0:
            write(page, text)
            written.append(index)
    return written
