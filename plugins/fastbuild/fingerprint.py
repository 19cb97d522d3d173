"""Fingerprints: of the whole site's code and settings, and of what one page is made from.

A page's fingerprint covers its template, the page's name and SITEURL, and every value of
its context that the template (with whatever it extends, includes or imports) names. Values
are digested by what a template can see of them: a post by its source, metadata, URL, links
to other files and the attributes plugins gave it (its neighbours by their own core).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import os
import re
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from pelican.contents import Content
from pelican.paginator import Page, Paginator
from pelican.urlwrappers import URLWrapper

# Settings that never reach a file the writer renders: fab publish sets a new RELEASE_ID
# every time, and only healthz.txt (rewritten by serverconfig on every build) carries it.
UNTRACKED_SETTINGS = frozenset({"RELEASE_ID"})
# Libraries whose output is part of every page.
LIBRARIES = ("pelican", "docutils", "pygments", "jinja2", "markupsafe")

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _sha(*parts: bytes | str) -> bytes:
    # One update of the joined, length-prefixed parts: a build takes ~60,000 digests, and
    # two updates per part cost more than the hashing.
    chunks = []
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        chunks += (len(data).to_bytes(8, "little"), data)
    return hashlib.sha256(b"".join(chunks)).digest()


def stable_repr(value: Any) -> str:
    """repr() without memory addresses, mappings and sets in a stable order."""
    if isinstance(value, Mapping):
        items = sorted((stable_repr(k), stable_repr(v)) for k, v in value.items())
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(stable_repr(v) for v in value)) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(stable_repr(v) for v in value) + "]"
    if isinstance(value, type | types.FunctionType | types.BuiltinFunctionType):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, types.ModuleType):
        return value.__name__
    return _ADDRESS.sub("", repr(value))


def _files_digest(paths: Iterable[Path]) -> list[bytes]:
    return [_sha(str(path), path.read_bytes()) for path in sorted(paths) if path.is_file()]


def site_fingerprint(settings: Mapping[str, Any]) -> str:
    """What every page depends on: library versions, settings, theme files, plugin code.

    A change to any of them rebuilds the whole site.
    """
    parts: list[bytes | str] = [sys.version]
    parts += [f"{name} {importlib.metadata.version(name)}" for name in LIBRARIES]
    tracked = {k: v for k, v in settings.items() if k not in UNTRACKED_SETTINGS}
    parts.append(stable_repr(tracked))
    parts += _files_digest(Path(settings["THEME"]).rglob("*"))
    parts += _files_digest(_plugin_files(settings.get("PLUGINS") or []))
    return _sha(*parts).hex()


def _plugin_files(plugins: Iterable[Any]) -> set[Path]:
    names = [p if isinstance(p, str) else p.__name__ for p in plugins]
    files = set()
    for module_name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and any(module_name == n or module_name.startswith(n + ".") for n in names):
            files.add(Path(file))
            if Path(file).name == "__init__.py":
                # A plugin package's every module, loaded yet or not.
                files.update(Path(file).parent.glob("*.py"))
    return files


def template_variables(environment: jinja2.Environment, name: str) -> frozenset[str] | None:
    """Every top-level name a template and the templates it pulls in read; None when it
    pulls in a template named at render time (then every name counts)."""
    seen: set[str] = set()
    names: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        assert environment.loader is not None
        source = environment.loader.get_source(environment, current)[0]
        tree = environment.parse(source)
        names |= meta.find_undeclared_variables(tree)
        for referenced in meta.find_referenced_templates(tree):
            if referenced is None:
                return None
            pending.append(referenced)
    return frozenset(names)


class Digests:
    """Digests of context values for one build, each object digested once.

    Objects are kept alive until the build ends, so an id is never reused for another.
    """

    def __init__(self) -> None:
        self._memo: dict[int, bytes] = {}
        self._cores: dict[int, bytes] = {}
        self._alive: list[Any] = []
        self._templates: dict[str, frozenset[str] | None] = {}

    def page(self, site: str, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        """The fingerprint of one page rendered from `template` with `context`."""
        name = template.name or ""
        if name not in self._templates:
            self._templates[name] = template_variables(template.environment, name)
        wanted = self._templates[name]
        keys = sorted(context if wanted is None else wanted & context.keys())
        parts: list[bytes | str] = [site, name]
        # Pelican resolves links in a post against these while the page renders.
        for key in ("output_file", "SITEURL", "localsiteurl"):
            parts += [key, self.of(context.get(key))]
        for key in keys:
            parts += [key, self.of(context[key])]
        return _sha(*parts).hex()

    def _memoised(self, value: Any, compute: Callable[[Any], bytes]) -> bytes:
        key = id(value)
        found = self._memo.get(key)
        if found is None:
            # A placeholder first: a value reachable from itself digests as that.
            self._memo[key] = _sha("cycle", type(value).__name__)
            self._alive.append(value)
            found = self._memo[key] = compute(value)
        return found

    def of(self, value: Any) -> bytes:
        """The digest of any value a template can be given."""
        # Every page's context holds mostly the same objects (settings, tags, lists of
        # posts): each is digested once per build.
        found = self._memo.get(id(value))
        if found is not None:
            return found
        digest = self._digest(value)
        self._memo[id(value)] = digest
        self._alive.append(value)
        return digest

    def _digest(self, value: Any) -> bytes:
        plain = _plain(value)
        if plain is not None:
            return plain
        if isinstance(value, Content):
            return self._memoised(value, self._content)
        if isinstance(value, URLWrapper):
            return _sha(type(value).__name__, value.name, value.slug, value.url, value.save_as)
        if isinstance(value, Page):
            return self._memoised(value, self._page)
        if isinstance(value, Paginator):
            return _sha("Paginator", value.name, value.url, str(value.per_page), str(value.count))
        if isinstance(value, Mapping):
            return self._memoised(value, self._mapping)
        if isinstance(value, list | tuple | set | frozenset):
            return self._memoised(value, self._sequence)
        return self._other(value)

    def _other(self, value: Any) -> bytes:
        if isinstance(value, type | types.FunctionType | types.ModuleType | types.MethodType):
            return _sha("code", stable_repr(value))
        if hasattr(value, "__dict__"):
            return self._memoised(value, self._object)
        # Nothing to go on: a digest no other build shares, so the page is always rendered.
        return _sha("unknown", os.urandom(16))

    def _sequence(self, value: Any) -> bytes:
        digests = [self.of(item) for item in value]
        if isinstance(value, set | frozenset):
            digests.sort()
        return _sha(type(value).__name__, *digests)

    def _mapping(self, value: Mapping[Any, Any]) -> bytes:
        items = sorted((self.of(k), self.of(v)) for k, v in value.items())
        return _sha("mapping", *(part for item in items for part in item))

    def _object(self, value: Any) -> bytes:
        return _sha(type(value).__qualname__, self._mapping(_visible_attributes(value)))

    def _page(self, page: Page) -> bytes:
        return _sha(
            "Page",
            str(page.number),
            str(page.paginator.num_pages),
            page.base_name,
            page.base_url,
            self.of(page.object_list),
        )

    def _content(self, content: Content) -> bytes:
        """A post or page: its core, and its other attributes (neighbours by their core)."""
        parts = [self._memoised_core(content)]
        for name, value in sorted(_visible_attributes(content).items()):
            parts += [name, self._attribute(value)]
        return _sha(*parts)

    def _attribute(self, value: Any) -> bytes:
        if isinstance(value, Content):
            return self._memoised_core(value)
        if isinstance(value, list | tuple) and any(isinstance(v, Content) for v in value):
            return _sha(*(self._attribute(v) for v in value))
        return self.of(value)

    def _memoised_core(self, content: Content) -> bytes:
        # Every post is the neighbour of a few others: its core is digested once.
        key = id(content)
        found = self._cores.get(key)
        if found is None:
            self._alive.append(content)
            found = self._cores[key] = self._core(content)
        return found

    def _core(self, content: Content) -> bytes:
        text = content._content or ""
        if "{" in text or "|" in text:
            # Links to other files resolve to their URLs: those URLs are part of the page.
            text = content.get_content("")
        return _sha(
            type(content).__name__,
            str(content.source_path),
            text,
            self.of(content.metadata),
            str(getattr(content, "url", "")),
            str(getattr(content, "save_as", "")),
        )


def _plain(value: Any) -> bytes | None:
    """The digest of a number, string, date or time zone; None for anything else."""
    if value is None or isinstance(value, bool | int | float | complex):
        return _sha(type(value).__name__, repr(value))
    if isinstance(value, str | bytes):
        return _sha(type(value).__name__, value)
    if isinstance(value, datetime.date | datetime.time):
        return _sha(type(value).__name__, value.isoformat(), str(getattr(value, "tzinfo", "")))
    if isinstance(value, datetime.tzinfo):
        return _sha("tzinfo", str(value))
    return None


# Attributes a template never sees of a Content object.
_HIDDEN = frozenset({"settings", "_context", "_content"})


def _visible_attributes(value: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(value).items() if k not in _HIDDEN}
