"""The fast build (plugins/fastbuild): the same bytes as Pelican alone, read in parallel, and
incremental builds byte-identical to clean ones after every kind of edit (the oracle)."""

from __future__ import annotations

import os
import random
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pelicanconf
from tests.support.corpus import make_corpus, random_edits
from tests.support.site import build_site
from tests.support.trees import differences, tree

# The build's own list, so that the serial build differs from it in fastbuild alone.
OUR_PLUGINS = list(pelicanconf.PLUGINS)


# Pelican's log handler wraps at the terminal's width: one message, one line.
WIDE_LOG = {"COLUMNS": "400"}


def test_parallel_reading_gives_the_bytes_of_pelicans_own_reader(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "blog", seed=7, posts=24)
    common = {"THEME": str(corpus.theme), "BUILD_INCREMENTAL": False}
    serial_plugins = [name for name in OUR_PLUGINS if name != "plugins.fastbuild"]
    serial = build_site(
        tmp_path / "serial", content=corpus.content, extra={**common, "PLUGINS": serial_plugins}
    )
    parallel = build_site(
        tmp_path / "parallel",
        content=corpus.content,
        extra={**common, "BUILD_WORKERS": 2},
        verbose=True,
        env=WIDE_LOG,
    )
    assert "25 sources parsed" in parallel.result.stderr + parallel.result.stdout
    expected = tree(serial.output)
    assert len(expected) > 30
    assert differences(expected, tree(parallel.output)) == []


def test_an_unchanged_rebuild_writes_nothing_and_keeps_mtimes(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "blog", seed=3, posts=6)
    extra = {"THEME": str(corpus.theme), "BUILD_STATE_PATH": str(tmp_path / "state")}
    first = build_site(tmp_path / "site", content=corpus.content, extra=extra)
    mtimes = {p: p.stat().st_mtime_ns for p in first.output.rglob("*.html")}
    second = build_site(
        tmp_path / "site", content=corpus.content, extra=extra, verbose=True, env=WIDE_LOG
    )
    log = second.result.stderr + second.result.stdout
    assert "0 sources parsed" in log
    assert " 0 files written" in log
    assert {p: p.stat().st_mtime_ns for p in second.output.rglob("*.html")} == mtimes


def test_a_publish_rebuild_keeps_finished_pages_and_mends_a_damaged_one(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "blog", seed=11, posts=6)
    extra = {
        "THEME": str(corpus.theme),
        "BUILD_STATE_PATH": str(tmp_path / "state"),
        "WEBPERF_CACHE_PATH": str(tmp_path / "webperf"),
    }
    first = build_site(tmp_path / "site", "publishconf.py", content=corpus.content, extra=extra)
    pages = sorted(first.output.glob("20*/**/index.html"))
    damaged, untouched = pages[0], pages[1]
    stamps = {p: p.stat().st_mtime_ns for p in (untouched, Path(f"{untouched}.br"))}
    # Damage one finished page behind the build's back: its brotli sibling goes.
    Path(f"{damaged}.br").unlink()
    second = build_site(
        tmp_path / "site", "publishconf.py", content=corpus.content, extra=extra,
        verbose=True, env=WIDE_LOG,
    )  # fmt: skip
    log = second.result.stderr + second.result.stdout
    kept = re.search(r"webperf: (\d+) pages \((\d+) kept as finished\)", log)
    assert kept and int(kept[2]) == int(kept[1]) - 1, log
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    clean = build_site(
        tmp_path / "clean", "publishconf.py", content=corpus.content,
        extra={**extra, "BUILD_INCREMENTAL": False},
    )  # fmt: skip
    assert differences(tree(clean.output), tree(second.output)) == []


def test_posts_that_share_a_date_keep_one_order_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Pelican collects sources in a set: without a tie-break, their order (neighbours,
    pagination) follows the process's hash seed."""
    corpus = make_corpus(tmp_path / "blog", seed=5, posts=7)
    for name, post in corpus.posts.items():
        post.date = "2020-02-02 10:00"
        corpus.save(name)
    extra = {"THEME": str(corpus.theme), "BUILD_INCREMENTAL": False}
    trees = [
        tree(build_site(tmp_path / seed, content=corpus.content, extra=extra,
                        env={"PYTHONHASHSEED": seed}).output)
        for seed in ("1", "2", "3")
    ]  # fmt: skip
    assert differences(trees[0], trees[1]) == []
    assert differences(trees[0], trees[2]) == []


def _oracle(tmp_path: Path, settings: str, seed: int, edits: int) -> None:
    corpus = make_corpus(tmp_path / "blog", seed=seed, posts=8)
    extra = {
        "THEME": str(corpus.theme),
        "BUILD_STATE_PATH": str(tmp_path / "state"),
        "WEBPERF_CACHE_PATH": str(tmp_path / "webperf"),
    }
    incremental = tmp_path / "incremental"

    def check(step: str) -> None:
        clean_dir = tmp_path / "clean"
        shutil.rmtree(clean_dir, ignore_errors=True)
        # The two builds are independent: side by side, on two cores.
        with ThreadPoolExecutor(2) as pool:
            building = pool.submit(
                build_site, incremental, settings, content=corpus.content, extra=extra
            )
            clean = build_site(
                clean_dir,
                settings,
                content=corpus.content,
                extra={**extra, "BUILD_INCREMENTAL": False},
            )
            built = building.result()
        problems = differences(tree(clean.output), tree(built.output))
        assert problems == [], f"seed {seed}, {settings}, after {step}: {problems}"

    check("the first build")
    for number, edit in enumerate(random_edits(corpus, edits), 1):
        check(f"edit {number}: {edit(corpus)}")


ORACLE_SEED = int(os.environ.get("FASTBUILD_ORACLE_SEED", random.randrange(1 << 30)))


@pytest.mark.parametrize("settings", ["pelicanconf.py", "publishconf.py"])
def test_incremental_builds_equal_clean_builds_after_random_edits(
    tmp_path: Path, settings: str
) -> None:
    # A failure names its seed; FASTBUILD_ORACLE_SEED=<seed> replays it.
    _oracle(tmp_path, settings, ORACLE_SEED, edits=30)
