"""Redirects from old URLs: the NGINX_REDIRECTS setting and posts' `:redirect_from:`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from plugins.contract import EXACT_LOCATIONS

from . import rules
from .errors import SettingsError

METADATA_KEY = "redirect_from"


@dataclass(frozen=True)
class Redirect:
    """A permanent redirect from an old URL path; `origin` says who asked for it."""

    source: str
    target: str
    origin: str


def from_setting(value: object) -> list[Redirect]:
    """NGINX_REDIRECTS: {"/old/": "/new/"}."""
    if not isinstance(value, Mapping):
        raise SettingsError("NGINX_REDIRECTS", value, 'a dict like {"/old/path/": "/new/"}')
    result = []
    for source, target in value.items():
        where = f"NGINX_REDIRECTS[{source!r}]"
        result.append(
            Redirect(
                source=rules.url_path(f"NGINX_REDIRECTS key {source!r}", source),
                target=rules.url_path(where, target),
                origin="NGINX_REDIRECTS",
            )
        )
    return result


def from_metadata(source_path: str, url: str, value: object) -> list[Redirect]:
    """A post's `:redirect_from:` (comma-separated old paths) → redirects to its `url`."""
    where = f"{source_path}: {METADATA_KEY}"
    if not isinstance(value, str):
        raise SettingsError(where, value, "comma-separated URL paths")
    target = rules.url_target(f"{source_path}: its URL", "/" + url.lstrip("/"))
    return [
        Redirect(source=rules.url_path(where, old.strip()), target=target, origin=source_path)
        for old in value.split(",")
        if old.strip()
    ]


def merge(redirects: Iterable[Redirect], output: Path) -> tuple[Redirect, ...]:
    """Check redirects against each other and the built site; return them sorted by source."""
    seen: dict[str, Redirect] = {}
    for redirect in redirects:
        where = f"{redirect.origin}: redirect {redirect.source}"
        if redirect.source == redirect.target:
            raise SettingsError(where, redirect.target, "a target other than the source")
        earlier = seen.get(redirect.source)
        if earlier is not None:
            raise SettingsError(
                where,
                redirect.target,
                f"one redirect per path, but {earlier.origin} already redirects "
                f"{redirect.source} to {earlier.target}",
            )
        if redirect.source in EXACT_LOCATIONS:
            raise SettingsError(
                where,
                redirect.target,
                f"a path the site does not serve itself, but {redirect.source} is "
                f"{EXACT_LOCATIONS[redirect.source]}",
            )
        served = output / redirect.source.lstrip("/")
        if served.is_file() or (served / "index.html").is_file():
            raise SettingsError(
                where,
                redirect.target,
                f"a path the site does not serve itself, but {redirect.source} is a page",
            )
        seen[redirect.source] = redirect
    return tuple(sorted(seen.values(), key=lambda r: r.source))
