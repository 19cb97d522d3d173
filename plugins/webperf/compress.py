"""Precompressing text files to .gz and .br siblings for nginx's gzip_static/brotli_static."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import brotli

from . import cache


def compress_gzip(data: bytes, level: int) -> bytes:
    """Gzip with no file name and a zero mtime, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=level, mtime=0)


# Named, not left to the library's default: `fab publish` recompresses changed files on the
# backends with the brotli command line (`-w`), and must make the same bytes as the build.
BROTLI_WINDOW = 22


def compress_brotli(data: bytes, quality: int) -> bytes:
    """Brotli in text mode at `quality`."""
    return brotli.compress(data, mode=brotli.MODE_TEXT, quality=quality, lgwin=BROTLI_WINDOW)


@dataclass(frozen=True)
class Job:
    """One file to precompress, with everything a worker process needs."""

    path: Path
    cache_root: Path
    gzip_level: int
    brotli_quality: int


@dataclass(frozen=True)
class Pending:
    """One encoding of one file that the cache did not have, left for `finish`."""

    job: Job
    suffix: str
    size: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: how many encodings came from the cache or were computed."""

    path: Path
    cached: int
    computed: int
    written: int
    pending: tuple[Pending, ...] = ()


def _encoders(job: Job) -> list[tuple[str, str, Callable[[bytes], bytes]]]:
    return [
        (
            ".gz",
            f"gzip-{job.gzip_level}",
            lambda data: compress_gzip(data, job.gzip_level),
        ),
        (
            ".br",
            f"brotli-{job.brotli_quality}-{brotli.__version__}",
            lambda data: compress_brotli(data, job.brotli_quality),
        ),
    ]


def _write_sibling(path: Path, suffix: str, data: bytes, encoded: bytes) -> int:
    # A stale sibling from an earlier build into the same output is removed when the new
    # encoding does not pay, so nginx never serves old bytes.
    sibling = path.with_name(path.name + suffix)
    if encoded and len(encoded) < len(data):
        sibling.write_bytes(encoded)
        return 1
    sibling.unlink(missing_ok=True)
    return 0


def _compute(entry: Path, encode: Callable[[bytes], bytes], data: bytes) -> bytes:
    encoded = encode(data)
    # An empty entry records "not smaller": no real encoding is ever empty.
    cache.store(entry, encoded if len(encoded) < len(data) else b"")
    return encoded


def precompress(job: Job, *, defer: bool = False) -> Outcome:
    """Write `<file>.gz` and `<file>.br` beside the file, each only when it is smaller.

    Runs in a worker process. With `defer`, encodings missing from the cache are not
    computed but returned as `Outcome.pending`, for `finish` to compute one by one.
    """
    data = job.path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    cached = computed = written = 0
    pending = []
    for suffix, namespace, encode in _encoders(job):
        entry = cache.entry_path(job.cache_root, namespace, key)
        encoded = cache.load(entry)
        if encoded is None and defer:
            pending.append(Pending(job, suffix, len(data)))
            continue
        if encoded is None:
            encoded = _compute(entry, encode, data)
            computed += 1
        else:
            cached += 1
        written += _write_sibling(job.path, suffix, data, encoded)
    return Outcome(job.path, cached, computed, written, tuple(pending))


def finish(pending: Pending) -> Outcome:
    """Compute, cache and write one encoding that `precompress(..., defer=True)` left."""
    data = pending.job.path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    for suffix, namespace, encode in _encoders(pending.job):
        if suffix == pending.suffix:
            entry = cache.entry_path(pending.job.cache_root, namespace, key)
            encoded = _compute(entry, encode, data)
            written = _write_sibling(pending.job.path, suffix, data, encoded)
            return Outcome(pending.job.path, 0, 1, written)
    raise ValueError(f"{pending.job.path}: no encoder for {pending.suffix!r}")
