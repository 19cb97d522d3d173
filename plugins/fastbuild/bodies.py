"""A post whose body alone changed, rebuilt from the last build still in memory (`fab serve`).

When a saved post keeps its title and every metadata field (a typo fixed, a paragraph
added), only what the site shows of its body changes: its content and its summary. The last
build's posts and every page's context are still in this process, so the post takes its new
body and each page whose context reaches the post is rendered again with the very context it
was rendered with; a page whose bytes come out the same is not written. Pelican's run, every
other post and every other page are skipped.

Anything else takes a whole (incremental) build: a new, removed or non-post file, changed
metadata or title, changed links to other files, a parse with warnings, feeds, webperf or
search (they read the whole site), a last build that reported problems. The build state on
disk is left as it was: the next whole build sees the new source and re-renders its pages.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.utils import memoized

from plugins import progress

from .fingerprint import template_variables
from .reading import FastRstReader, Parsed, digest
from .rendering import RenderedPage, render, write

# Pelican's intra-site links, in both of its syntaxes: a post whose links change goes
# through a whole build, where unknown targets are reported and static files copied.
_LINK = re.compile(r"[{|](?:filename|static|attach|tag|tags|category|author|index)[}|][^\"'<>\s]*")


@dataclass
class LastBuild:
    """The last whole build of this process, as far as a body edit needs it."""

    settings: Mapping[str, Any]
    context: dict[str, Any]
    posts: dict[str, Content]
    parsed: dict[str, tuple[str, Parsed]]
    pages: list[RenderedPage]
    # Which pages show which posts: worked out at the first body edit, kept for the next
    # ones (a body edit changes no post's place on any page).
    reach: _Reach | None = None


def posts_by_source(context: Mapping[str, Any]) -> dict[str, Content]:
    """Every post and page the build generated, by absolute source path."""
    generated = context.get("generated_content") or {}
    return {
        str(Path(content.source_path).absolute()): content
        for content in generated.values()
        if isinstance(content, Content) and content.source_path
    }


def rebuild(last: LastBuild, changed: Collection[Path]) -> tuple[int, int] | None:
    """Apply body-only edits of `changed` and write the pages that show them: (posts
    changed, files written), or None when a whole build is needed."""
    edits = []
    for path in changed:
        edit = _body_edit(last, str(Path(path).absolute()))
        if edit is None:
            return None
        if edit is not _UNCHANGED:
            edits.append(edit)
    for source, sha, parsed in edits:
        last.posts[source]._content = parsed.content
        last.parsed[source] = (sha, parsed)
    forget_memoized_contents()
    if not edits:
        return 0, 0
    if last.reach is None:
        last.reach = _Reach(last.settings)
    edited = [last.posts[source] for source, _, _ in edits]
    shown = last.reach.pages(last.pages, last.posts.values(), edited)
    return len(edits), sum(_render_again(last.context, page) for page in shown)


_UNCHANGED = ("", "", Parsed(None, (), None))


def _body_edit(last: LastBuild, source: str) -> tuple[str, str, Parsed] | None:
    """(source, sha, new parse) of a post whose body alone changed; _UNCHANGED for a post
    whose bytes did not change; None when it needs a whole build."""
    kept = last.parsed.get(source)
    if source not in last.posts or kept is None or not Path(source).is_file():
        return None
    sha = digest(source)
    if sha == kept[0]:
        return _UNCHANGED
    reader = FastRstReader(last.settings)
    try:
        parsed, warnings = reader.parse_counting_warnings(source)
    except Exception:  # The whole build reports it, in Pelican's and our words.
        return None
    before = kept[1]
    if warnings or (parsed.fields, parsed.title) != (before.fields, before.title):
        return None
    if set(_LINK.findall(parsed.content or "")) != set(_LINK.findall(before.content or "")):
        return None
    return source, sha, parsed


def forget_memoized_contents() -> None:
    """Empty Pelican's class-wide caches of Content.get_content and get_summary, which are
    keyed by the post: an edited post must be rendered from its new body, and a process that
    builds again must not keep every earlier build's posts alive."""
    for name in ("get_content", "get_summary"):
        cached = vars(Content)[name]
        if isinstance(cached, memoized):
            cached.cache.clear()


def _render_again(context: dict[str, Any], page: RenderedPage) -> int:
    """Render one page as Pelican's writer did; write it if its bytes changed (1) or not (0)."""
    text = render(context, page)
    try:
        if page.path.read_text(encoding="utf-8") == text:
            return 0
    except FileNotFoundError:
        pass
    write(page, text)
    progress.advance("rendered")
    return 1


class _Reach:
    """Which pages show a post, as the page fingerprints see it (fingerprint.py): a page
    depends on the posts its context holds (through lists, mappings, pagination and other
    objects) and on those posts' neighbours, one level deep. Following neighbours further
    would reach every post from every page."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = settings
        self._held: dict[int, frozenset[int]] = {}
        self._templates: dict[str, frozenset[str] | None] = {}

    def pages(
        self, pages: list[RenderedPage], posts: Iterable[Content], edited: list[Content]
    ) -> list[RenderedPage]:
        """The pages that show any of `edited` (`posts`: every post of the site)."""
        wanted = {id(post) for post in edited}
        wanted |= {id(holder) for holder in self._holders(posts, wanted)}
        return [page for page in pages if self._shows(page, wanted)]

    def _shows(self, page: RenderedPage, wanted: set[int]) -> bool:
        context = page.context
        for key in self._names(page.template) or context:
            value = context.get(key)
            # Settings hold no posts: most of a page's context is skipped at once.
            if value is None or value is self.settings.get(key, _MISSING):
                continue
            if not wanted.isdisjoint(self.held(value)):
                return True
        return False

    def _names(self, template: jinja2.Template) -> frozenset[str] | None:
        """The names the template reads (None: every name), as its fingerprint counts them."""
        name = template.name or ""
        if name not in self._templates:
            self._templates[name] = template_variables(template.environment, name)
        return self._templates[name]

    @staticmethod
    def _holders(posts: Iterable[Content], wanted: set[int]) -> set[Content]:
        """Posts that have one of `wanted` as an attribute (a neighbour) or in one."""
        holders = set()
        for post in posts:
            for value in _attributes(post):
                items = value if isinstance(value, list | tuple) else (value,)
                if any(id(item) in wanted for item in items):
                    holders.add(post)
        return holders

    def held(self, value: Any) -> frozenset[int]:
        """The ids of the posts `value` holds, not counting what posts hold."""
        if value is None or isinstance(value, str | bytes | int | float | bool):
            return frozenset()
        if isinstance(value, Content):
            return frozenset((id(value),))
        key = id(value)
        found = self._held.get(key)
        if found is None:
            self._held[key] = frozenset()  # A value that holds itself adds nothing.
            found = frozenset().union(*(self.held(item) for item in _parts(value)))
            self._held[key] = found
        return found


_MISSING = object()


def _attributes(value: Any) -> Iterable[Any]:
    return (v for k, v in vars(value).items() if k not in ("settings", "_context"))


def _parts(value: Any) -> Iterable[Any]:
    # As fingerprint.py digests them: a page of a list by its own posts, a paginator by its
    # size (what a template shows of the rest of the list).
    if isinstance(value, Page):
        return (value.object_list,)
    if isinstance(value, Paginator):
        return ()
    if isinstance(value, Mapping):
        return value.values()
    if isinstance(value, list | tuple | set | frozenset):
        return value
    if hasattr(value, "__dict__"):
        return _attributes(value)
    return ()
