"""The whole build-time pass over a written site, in dependency order.

1. minify every stylesheet and script;
2. images: read sizes, make resized/WebP variants, fingerprint them;
3. fingerprint assets leaves first, then stylesheets after their url() references are
   rewritten, so each hash covers the final bytes;
4. rewrite, size and minify every page (in parallel, through the content-hash cache);
5. drop originals nothing names any more, write assets.json;
6. precompress every text file (in parallel, through the content-hash cache), then
   compute the encodings the cache lacked, largest file first, one encoding per task.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from plugins import contract, progress, untouched
from plugins.settings.errors import BuildError
from plugins.settings.webperf import WebperfSettings

from . import cache, compress, images, pages, urls
from .finished import Finished, stamps
from .minify import minify_css, minify_js

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

_CSS_REFERENCE_ERROR = "circular url()/@import references between stylesheets: {}"


class WebperfError(BuildError):
    """The pass could not finish; the message names the file and what went wrong."""


@dataclass
class Stats:
    """Counts for one build, logged and saved as <cache>/stats.json."""

    pages: int = 0
    pages_from_cache: int = 0
    pages_kept: int = 0
    images_sized: int = 0
    minified_assets: int = 0
    fingerprinted: int = 0
    variants: int = 0
    removed_originals: int = 0
    precompressed_files: int = 0
    compressed_now: int = 0
    compressed_from_cache: int = 0


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _site_files(output: Path) -> list[Path]:
    # os.walk learns file types from the directory listing; rglob + is_file stats each path.
    return sorted(
        Path(directory, name)
        for directory, _, names in os.walk(output)
        for name in names
        if not name.endswith(contract.COMPRESSED_SUFFIXES)
    )


def _asset_candidates(settings: WebperfSettings, files: list[Path]) -> list[Path]:
    prefixes = tuple(p.strip("/") for p in settings.fingerprint_paths)
    chosen = []
    for path in files:
        rel = _relative(path, settings.output)
        inside = any(rel == p or rel.startswith(p + "/") for p in prefixes)
        if (
            inside
            and path.suffix.lower() not in (".html", ".htm")
            and not contract.FINGERPRINTED_RE.search(path.name)
            and urls.fingerprinted_name(path.name, "0" * 64) is not None
        ):
            chosen.append(path)
    return chosen


def _write_fingerprinted(path: Path, data: bytes, root: Path) -> str:
    name = urls.fingerprinted_name(path.name, hashlib.sha256(data).hexdigest())
    assert name is not None  # candidates were filtered on having a plain extension
    target = path.with_name(name)
    if not target.exists() or target.read_bytes() != data:
        target.write_bytes(data)
    return _relative(target, root)


def _minify_assets(files: Iterable[Path], settings: WebperfSettings) -> int:
    count = 0
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in (".css", ".js", ".mjs") or contract.FINGERPRINTED_RE.search(path.name):
            continue
        name = _relative(path, settings.output)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise WebperfError(f"{name}: not UTF-8 text ({exc})") from exc
        minified = minify_css(text, name) if suffix == ".css" else minify_js(text, name)
        if minified != text:
            path.write_text(minified, encoding="utf-8")
            count += 1
    return count


def _images(
    settings: WebperfSettings, assets: list[Path], stats: Stats
) -> dict[str, images.ImageInfo]:
    """Sizes of every image asset, and its variants written out fingerprinted."""
    infos: dict[str, images.ImageInfo] = {}
    for path in assets:
        suffix = path.suffix.lower()
        if suffix not in images.DIMENSIONED:
            continue
        rel = _relative(path, settings.output)
        try:
            size = images.size_of(path, rel)
        except images.ImageError as exc:
            raise WebperfError(str(exc)) from exc
        if size is None:
            log.info("webperf: %s states no size; its <img> tags get none", rel)
            continue
        same: list[tuple[str, int]] = []
        webp: list[tuple[str, int]] = []
        if suffix in images.RASTER:
            variants = images.make_variants(
                path,
                settings.image_widths,
                settings.webp,
                settings.webp_quality,
                settings.variant_max_ratio,
                settings.variant_min_saving,
                settings.cache,
            )
            for variant in variants:
                written = _write_fingerprinted(
                    path.with_name(variant.name), variant.data, settings.output
                )
                (webp if variant.mime == "image/webp" else same).append((written, variant.width))
                stats.variants += 1
        infos[rel] = images.ImageInfo(size[0], size[1], tuple(same), tuple(webp))
    return infos


def _css_targets(path: Path, text: str, settings: WebperfSettings) -> set[str]:
    referrer = _relative(path, settings.output)
    found = set()
    for match in pages.CSS_URL.finditer(text):
        url = match[2] if match[2] is not None else match[4]
        target = urls.resolve(url, referrer, settings.siteurl)
        if target:
            found.add(target)
    return found


def _fingerprint(settings: WebperfSettings, assets: list[Path], stats: Stats) -> dict[str, str]:
    """Fingerprint every asset; stylesheets after whatever they reference."""
    mapping: dict[str, str] = {}
    stylesheets = {}
    for path in assets:
        rel = _relative(path, settings.output)
        if path.suffix.lower() == ".css":
            stylesheets[rel] = path
        else:
            mapping[rel] = _write_fingerprinted(path, path.read_bytes(), settings.output)
    pending = dict(stylesheets)
    while pending:
        progressed = False
        for rel, path in sorted(pending.items()):
            text = path.read_text(encoding="utf-8")
            if _css_targets(path, text, settings) & (set(pending) - {rel}):
                continue
            context = pages.Context(settings.siteurl, mapping, {}, "", False, {})
            rewritten = pages.rewrite_css(text, rel, context)
            if rewritten != text:
                path.write_text(rewritten, encoding="utf-8")
            mapping[rel] = _write_fingerprinted(path, rewritten.encode(), settings.output)
            del pending[rel]
            progressed = True
        if not progressed:
            raise WebperfError(_CSS_REFERENCE_ERROR.format(", ".join(sorted(pending))))
    stats.fingerprinted = len(mapping)
    return mapping


# Worker processes receive the shared page context once, at start-up.
_CONTEXT: pages.Context | None = None


def _init_worker(context: pages.Context | None) -> None:
    global _CONTEXT
    _CONTEXT = context


def _page_job(item: tuple[Path, str]) -> pages.PageOutcome:
    path, rel = item
    assert _CONTEXT is not None
    try:
        return pages.process_page(path, rel, _CONTEXT)
    except (ValueError, OSError) as exc:
        raise WebperfError(f"{rel}: {exc}") from exc


def _compress_job(job: compress.Job) -> compress.Outcome:
    try:
        return compress.precompress(job, defer=True)
    except OSError as exc:
        raise WebperfError(f"{job.path}: {exc}") from exc


def _compress_now_job(job: compress.Job) -> compress.Outcome:
    try:
        return compress.precompress(job)
    except OSError as exc:
        raise WebperfError(f"{job.path}: {exc}") from exc


def _finish_job(pending: compress.Pending) -> compress.Outcome:
    try:
        return compress.finish(pending)
    except OSError as exc:
        raise WebperfError(f"{pending.job.path}: {exc}") from exc


class _Workers:
    """The worker processes of one run, shared by every phase; in-process with one worker.

    One pool for the whole run lets work submitted early (compressing feeds while pages are
    rewritten) overlap with the phases that follow it.
    """

    def __init__(self, settings: WebperfSettings, context: pages.Context) -> None:
        self.count = settings.workers
        self.pool: ProcessPoolExecutor | None = None
        _init_worker(context)
        if self.count > 1:
            # fork: the plugin is imported from PLUGIN_PATHS, which a fresh interpreter lacks.
            self.pool = ProcessPoolExecutor(
                self.count,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker,
                initargs=(context,),
            )

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def submit(self, function: Callable[[Item], Result], item: Item) -> Future[Result]:
        if self.pool is not None:
            return self.pool.submit(function, item)
        done: Future[Result] = Future()
        done.set_result(function(item))
        return done

    def map(
        self, function: Callable[[Item], Result], items: list[Item], chunk: int | None = None
    ) -> Iterator[Result]:
        if self.pool is None or len(items) < 2:
            return map(function, items)
        chunk = chunk or max(1, len(items) // (self.count * 8))
        return self.pool.map(function, items, chunksize=chunk)


def _still_named(
    settings: WebperfSettings, files: list[Path], originals: set[str], pages_named: set[str]
) -> set[str]:
    """Originals that some file other than a page still names (feeds, stylesheets, text)."""
    named = set(pages_named)
    for path in files:
        suffix = path.suffix.lower().lstrip(".")
        if suffix in ("html", "htm") or suffix not in settings.precompress_extensions:
            continue
        if not path.exists() or contract.FINGERPRINTED_RE.search(path.name):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for original in originals - named:
            # Stylesheets and scripts name files relative to themselves: match the bare name.
            needle = original.rsplit("/", 1)[-1] if suffix in ("css", "js", "mjs") else original
            if needle in text and _relative(path, settings.output) != original:
                named.add(original)
    return named


def _keep_finished(
    html_files: list[Path], output: Path, finished: Finished, context: str
) -> dict[Path, list[str]]:
    """The pages the incremental build left alone that are finished as the last pass
    recorded them, with the originals each names; the others it left alone go back to
    their rendering, to be rewritten."""
    kept = {}
    handed = untouched.pages()
    for path in html_files:
        rendering = handed.get(path)
        if rendering is None:
            continue
        names = finished.referenced(_relative(path, output), path, context)
        if names is not None:
            kept[path] = names
        else:
            shutil.copyfile(rendering, path)
    return kept


def run(settings: WebperfSettings) -> Stats:
    """Optimise the site in settings.output; returns the counts."""
    stats = Stats()
    output = settings.output
    files = _site_files(output)
    if settings.minify:
        stats.minified_assets = _minify_assets(files, settings)

    assets = _asset_candidates(settings, files)
    infos = _images(settings, assets, stats)
    mapping = _fingerprint(settings, assets, stats)
    removable = {rel for rel in mapping if "/" in rel}

    html_files = [p for p in files if p.suffix.lower() in (".html", ".htm")]
    context = pages.Context(
        siteurl=settings.siteurl,
        assets=mapping,
        images=infos,
        image_sizes=settings.image_sizes,
        minify=settings.minify,
        minify_options=settings.minify_html_options,
        originals=frozenset(removable),
        cache_root=settings.cache,
    )
    # Hashed once here, before the workers fork, rather than once in every worker.
    _ = context.digest

    def compress_job(path: Path) -> compress.Job:
        return compress.Job(path, settings.cache, settings.gzip_level, settings.brotli_quality)

    compressible = {
        path for path in files if path.suffix.lower().lstrip(".") in settings.precompress_extensions
    }
    # Feeds, the sitemap and fingerprinted assets are final already: they are compressed
    # (largest first, cache misses included) while the pages are rewritten. Pages are not
    # final yet, and originals may still be removed.
    early = sorted(
        (
            path
            for path in compressible
            if path.suffix.lower() not in (".html", ".htm")
            and _relative(path, output) not in removable
        ),
        key=lambda path: (-path.stat().st_size, path),
    )
    finished = Finished.load(settings.cache, output)
    kept = _keep_finished(html_files, output, finished, context.digest)
    stats.pages_kept = len(kept)
    with _Workers(settings, context) as workers:
        early_results = []
        if settings.precompress:
            early_results = [workers.submit(_compress_now_job, compress_job(p)) for p in early]

        named: set[str] = set().union(*kept.values())
        referenced: dict[str, list[str]] = {}
        items = [(p, _relative(p, output)) for p in html_files if p not in kept]
        for outcome in workers.map(_page_job, items):
            stats.pages += 1
            stats.pages_from_cache += outcome.from_cache
            stats.images_sized += outcome.images
            named |= outcome.referenced
            referenced[outcome.path] = sorted(outcome.referenced)

        named = _still_named(settings, files, removable, named)
        for rel in sorted(removable - named):
            for suffix in ("", *contract.COMPRESSED_SUFFIXES):
                (output / (rel + suffix)).unlink(missing_ok=True)
            stats.removed_originals += 1

        contract.write_assets(settings.deploy_build, mapping)

        if settings.precompress:
            done = set(early)
            jobs = [
                compress_job(path)
                for path in _site_files(output)
                if path not in done
                and path not in kept
                and path.suffix.lower().lstrip(".") in settings.precompress_extensions
            ]
            progress.expect("compressed", len(jobs) + len(early))
            pending: list[compress.Pending] = []
            for result in workers.map(_compress_job, jobs):
                stats.compressed_from_cache += result.cached
                pending += result.pending
                # A file with encodings left counts once they are computed, below.
                progress.advance("compressed", int(not result.pending))
            # Brotli at quality 11 takes a second on a large page: started first, one encoding
            # per task, the slow ones run side by side instead of queueing in one chunk.
            pending.sort(key=lambda item: (-item.size, str(item.job.path), item.suffix))
            late = [result.computed for result in workers.map(_finish_job, pending, chunk=1)]
            stats.compressed_now += sum(late)
            progress.advance("compressed", len({item.job.path for item in pending}))
            for future in early_results:
                result = future.result()
                progress.advance("compressed")
                stats.compressed_from_cache += result.cached
                stats.compressed_now += result.computed
            stats.precompressed_files = len(jobs) + len(early_results)

    # A kept page's record holds as it was just checked; the rewritten ones are stamped now.
    record = {rel: finished.pages[rel] for rel in (_relative(p, output) for p in kept)}
    record.update((rel, (stamps(output / rel), names)) for rel, names in referenced.items())
    finished.save(context.digest, record)

    settings.cache.mkdir(parents=True, exist_ok=True)
    stats_text = json.dumps(asdict(stats), indent=2, sort_keys=True) + "\n"
    (settings.cache / "stats.json").write_text(stats_text, encoding="utf-8")
    cache.prune_when_due(settings.cache, settings.cache_max_age_days)
    return stats
