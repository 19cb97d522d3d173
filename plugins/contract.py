"""What the build writes and the deploy reads: every name both sides must agree on.

- the web root (OUTPUT_PATH): the site, `healthz.txt` naming the release, fingerprinted assets
  (`name.<10 hex>.ext`) and precompressed `.gz`/`.br` siblings;
- DEPLOY_BUILD_PATH: the server config (`nginx/<backend>/site.conf`, `haproxy/haproxy.cfg`)
  under a manifest that names the release and each file's sha256, and `assets.json`
  (original path -> fingerprinted path).

Every file under DEPLOY_BUILD_PATH is written atomically (a deploy never reads half a file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

HEALTH_FILE = "healthz.txt"
ERROR_PAGE = "404.html"
# The search page, and the folder of Pagefind's index and scripts: both get a CSP of their own.
SEARCH_URL = "search/"
SEARCH_PAGE = SEARCH_URL + "index.html"
SEARCH_BUNDLE = "pagefind"
# URL paths the vhost answers with an exact `location =`: a redirect from one would clash.
EXACT_LOCATIONS = {
    f"/{ERROR_PAGE}": "the 404 page",
    f"/{HEALTH_FILE}": "the release's health check",
    f"/{SEARCH_PAGE}": "the search page",
}

# Fingerprinted names: `style.css` -> `style.<first 10 hex of its sha256>.css`.
FINGERPRINT_LENGTH = 10
_HEX = f"[0-9a-f]{{{FINGERPRINT_LENGTH}}}"
# One pattern, three dialects. Python and nginx (PCRE) read the same text.
FINGERPRINTED = rf"\.{_HEX}\.[a-z0-9]+$"
FINGERPRINTED_RE = re.compile(FINGERPRINTED)
COMPRESSED_SUFFIXES = (".gz", ".br")
# `find -regextype posix-extended -regex`: matches the whole path, siblings included.
FINGERPRINTED_FIND_REGEX = (
    rf".*\.{_HEX}\.[a-z0-9]+(" + "|".join(re.escape(s) for s in COMPRESSED_SUFFIXES) + ")?"
)
# rsync filter syntax has no repetition: one hex class per character, then any extension.
FINGERPRINTED_RSYNC_GLOB = "*." + "[0-9a-f]" * FINGERPRINT_LENGTH + ".*"

# Under DEPLOY_BUILD_PATH.
SERVER_CONFIG_DIRS = ("nginx", "haproxy")
MANIFEST = "manifest.json"
ASSETS = "assets.json"
HAPROXY_CONFIG = "haproxy/haproxy.cfg"
VHOST = "site.conf"


class BuildMismatch(RuntimeError):
    """DEPLOY_BUILD_PATH does not hold what the build said it wrote."""


def vhost_path(backend: str) -> str:
    """The vhost of one backend, relative to DEPLOY_BUILD_PATH."""
    return f"nginx/{backend}/{VHOST}"


def pagespeed_path(backend: str) -> str:
    """The optional ngx_pagespeed include of one backend, relative to DEPLOY_BUILD_PATH."""
    return f"nginx/{backend}/pagespeed.conf"


def output_key(output: Path) -> str:
    """A short name for an output folder, for what a build keeps about it outside it
    (fastbuild's state, webperf's finished pages): each folder keeps its own."""
    return hashlib.sha256(str(output.resolve()).encode()).hexdigest()[:16]


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write through a temporary name and a rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def manifest(release: str, files: Mapping[str, str]) -> str:
    """{"release": …, "files": {path: sha256}}, sorted, newline-terminated."""
    digests = {path: _digest(text) for path, text in sorted(files.items())}
    return json.dumps({"release": release, "files": digests}, indent=2, sort_keys=True) + "\n"


def write_server_config(root: Path, release: str, files: Mapping[str, str]) -> None:
    """Replace the server config under `root` with `files`, and the manifest that lists them."""
    for owned in SERVER_CONFIG_DIRS:
        if (root / owned).is_dir():
            shutil.rmtree(root / owned)
    for relative, text in sorted(files.items()):
        write_atomic(root / relative, text)
    write_atomic(root / MANIFEST, manifest(release, files))


def read_server_config(root: Path, release: str) -> dict[str, str]:
    """The server config of `release`, each file checked against the manifest."""
    try:
        listed = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BuildMismatch(f"{root / MANIFEST}: unreadable ({error})") from None
    if listed.get("release") != release:
        raise BuildMismatch(
            f"{root / MANIFEST} is for release {listed.get('release')!r}, not {release!r}"
        )
    files = {}
    for relative, digest in listed["files"].items():
        path = root / relative
        text = path.read_text(encoding="utf-8") if path.is_file() else None
        if text is None or _digest(text) != digest:
            raise BuildMismatch(f"{path} is missing or differs from {MANIFEST}")
        files[relative] = text
    return files


def write_assets(root: Path, mapping: Mapping[str, str]) -> None:
    """assets.json: every fingerprinted asset, original path -> fingerprinted path."""
    write_atomic(root / ASSETS, json.dumps(dict(sorted(mapping.items())), indent=2) + "\n")


def missing_assets(root: Path, output: Path) -> list[str]:
    """The fingerprinted files assets.json names that `output` lacks (pages would 404 them)."""
    path = root / ASSETS
    if not path.is_file():
        return []
    mapping = json.loads(path.read_text(encoding="utf-8"))
    return sorted(name for name in mapping.values() if not (output / name).is_file())
