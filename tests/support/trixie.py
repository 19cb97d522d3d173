"""Debian 13 (trixie)'s own nginx 1.26 and haproxy 3.0, unpacked under ~/.cache, for tests.

The system's binaries (Debian 12: nginx 1.22, haproxy 2.6, OpenSSL 3.0) stay the default; these
validate the config our newer version branches render with the binaries those branches are
(OpenSSL 3.5, `http2 on;`, QUIC). Nothing is installed: `apt-get download` with a private apt
state (its own sources list, lists and cache; the system's apt config is untouched) fetches the
packages from the host the system's sources name, `dpkg-deb -x` unpacks them, and the binaries
run through the unpacked tree's own dynamic loader and libraries (trixie's glibc is newer).

API:
- `binaries() -> Binaries`: the unpacked tree, built first when missing (a file lock keeps
  concurrent test processes from building it twice; a failed build leaves nothing behind).
- `Binaries.nginx` / `Binaries.haproxy`: argv prefixes that run them; `Binaries.brotli_module`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "blog-tests"
ROOT = CACHE / "debian-trixie"
# The host the system's own sources use for Debian (deb.debian.org unless set otherwise).
SYSTEM_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The two servers, the brotli module our vhosts load, and every library they link.
PACKAGES = (
    "nginx",
    "libnginx-mod-http-brotli-static",
    "haproxy",
    "libc6",
    "libgcc-s1",
    "libstdc++6",
    "libcrypt1",
    "libpcre2-8-0",
    "libssl3t64",
    "zlib1g",
    "libzstd1",
    "libjemalloc2",
    "liblua5.4-0",
    "libopentracing1",
    "libopentracing-c-wrapper0t64",
)
_LIBRARY_DIRS = ("usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu")
_COMPLETE = "complete"


@dataclass(frozen=True)
class Binaries:
    """An unpacked trixie tree and how to run its programs."""

    root: Path

    def _run(self, program: str) -> list[str]:
        loader = self.root / "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
        libraries = ":".join(str(self.root / d) for d in _LIBRARY_DIRS)
        return [str(loader), "--library-path", libraries, str(self.root / "usr/sbin" / program)]

    @property
    def nginx(self) -> list[str]:
        return self._run("nginx")

    @property
    def haproxy(self) -> list[str]:
        return self._run("haproxy")

    @property
    def brotli_module(self) -> Path:
        return self.root / "usr/lib/nginx/modules/ngx_http_brotli_static_module.so"


def _mirror() -> str:
    """The Debian mirror the system's apt uses, so the tests fetch from where it does."""
    if SYSTEM_SOURCES.exists():
        for line in SYSTEM_SOURCES.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    return "http://deb.debian.org/debian"


def _apt(state: Path, *args: str) -> None:
    """apt-get with every path under `state`; `download` puts the .debs in `state`/debs."""
    options = {
        "Dir::Etc::sourcelist": state / "sources.list",
        "Dir::Etc::sourceparts": "-",
        "Dir::Etc::preferencesparts": "-",
        "Dir::State::lists": state / "lists",
        "Dir::State::status": "/dev/null",
        "Dir::Cache": state / "cache",
        "APT::Architecture": "amd64",
        "APT::Sandbox::User": "root",
    }
    argv = ["apt-get", "-q"]
    for key, value in options.items():
        argv += ["-o", f"{key}={value}"]
    result = subprocess.run(
        [*argv, *args], cwd=state / "debs", capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"apt-get {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def _build(target: Path) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix=".trixie-") as work:
        state = Path(work)
        for sub in ("lists/partial", "cache/archives/partial", "debs", "root"):
            (state / sub).mkdir(parents=True)
        (state / "sources.list").write_text(
            f"deb [signed-by={KEYRING}] {_mirror()} trixie main\n", encoding="utf-8"
        )
        _apt(state, "update")
        _apt(state, "download", *PACKAGES)
        for deb in sorted((state / "debs").glob("*.deb")):
            subprocess.run(
                ["dpkg-deb", "-x", str(deb), str(state / "root")], check=True, timeout=120
            )
        versions = "".join(f"{deb.name}\n" for deb in sorted((state / "debs").glob("*.deb")))
        (state / "root" / _COMPLETE).write_text(versions, encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        (state / "root").rename(target)


def binaries() -> Binaries:
    """The unpacked trixie tree, fetched and unpacked first if it is not in the cache yet."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".trixie.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (ROOT / _COMPLETE).exists():
            _build(ROOT)
    return Binaries(ROOT)
