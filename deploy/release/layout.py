"""Where things live on a backend, under its root (docs/ARCHITECTURE.md, "The remote layout")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# Release ids become directory and file names on every backend: keep them to one safe word.
LOCK_FILE = ".deploy.lock"
RELEASE_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


@dataclass(frozen=True)
class Layout:
    """Paths of one backend's deploy root.

    <root>/releases/<id>/          one complete web root per release
    <root>/releases/<id>.carried   fingerprinted assets linked into <id> from another release
    <root>/releases/<id>.lent      assets of <id> linked into the release live when <id> was staged
    <root>/current -> releases/<id>  what nginx serves
    <root>/nginx/<id>/site.conf    the vhost that went with release <id>
    <root>/nginx/live -> <id>      what nginx includes (<root>/nginx/live/site.conf)
    <root>/nginx/test.conf         throwaway main conf for `nginx -t` of a staged vhost
    <root>/.deploy.lock            who is deploying, since when
    """

    root: PurePosixPath

    @property
    def releases(self) -> PurePosixPath:
        return self.root / "releases"

    @property
    def current(self) -> PurePosixPath:
        return self.root / "current"

    @property
    def nginx(self) -> PurePosixPath:
        return self.root / "nginx"

    @property
    def live_config(self) -> PurePosixPath:
        return self.nginx / "live"

    @property
    def test_conf(self) -> PurePosixPath:
        return self.nginx / "test.conf"

    @property
    def lock(self) -> PurePosixPath:
        return self.root / LOCK_FILE

    def release(self, release_id: str) -> PurePosixPath:
        return self.releases / release_id

    def carried(self, release_id: str) -> PurePosixPath:
        return self.releases / f"{release_id}.carried"

    def lent(self, release_id: str) -> PurePosixPath:
        return self.releases / f"{release_id}.lent"

    def config(self, release_id: str) -> PurePosixPath:
        return self.nginx / release_id


def balancer_lock(config_dir: PurePosixPath) -> PurePosixPath:
    """The balancer's lock, in haproxy's config folder: the one every deploy takes first."""
    return config_dir / LOCK_FILE


def check_release_id(value: str) -> str:
    """Return `value` if it can name a release directory, else raise ValueError."""
    if not RELEASE_ID.match(value) or value in {"live", "test.conf"}:
        raise ValueError(
            f"release id {value!r}: expected letters, digits, '.', '_' or '-' (at most 64)"
        )
    return value
