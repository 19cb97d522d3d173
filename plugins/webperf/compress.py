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


def compress_brotli(data: bytes, quality: int) -> bytes:
    """Brotli in text mode at `quality`."""
    return brotli.compress(data, mode=brotli.MODE_TEXT, quality=quality)


@dataclass(frozen=True)
class Job:
    """One file to precompress, with everything a worker process needs."""

    path: Path
    cache_root: Path
    gzip_level: int
    brotli_quality: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one file: how many encodings came from the cache or were computed."""

    path: Path
    cached: int
    computed: int
    written: int


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


def precompress(job: Job) -> Outcome:
    """Write `<file>.gz` and `<file>.br` beside the file, each only when it is smaller.

    Runs in a worker process. A stale sibling from an earlier build into the same output
    is removed when the new encoding does not pay, so nginx never serves old bytes.
    """
    data = job.path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    cached = computed = written = 0
    for suffix, namespace, encode in _encoders(job):
        entry = cache.entry_path(job.cache_root, namespace, key)
        encoded = cache.load(entry)
        if encoded is None:
            encoded = encode(data)
            # An empty entry records "not smaller": no real encoding is ever empty.
            cache.store(entry, encoded if len(encoded) < len(data) else b"")
            computed += 1
        else:
            cached += 1
        sibling = job.path.with_name(job.path.name + suffix)
        if encoded and len(encoded) < len(data):
            sibling.write_bytes(encoded)
            written += 1
        else:
            sibling.unlink(missing_ok=True)
    return Outcome(job.path, cached, computed, written)
