"""Siblings a backend makes itself: which ones (pure), and the script that makes them (real sh)."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path, PurePosixPath

import brotli

from deploy.hosts import scripts
from deploy.inventory import Precompression
from deploy.release import siblings
from plugins.webperf.compress import BROTLI_WINDOW, compress_brotli, compress_gzip

PRECOMPRESSION = Precompression(frozenset({"html", "xml"}), 9, 11)
TEXT = b"<p>" + b"a paragraph that compresses well. " * 200 + b"</p>"


def write(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_only_siblings_of_files_the_live_release_has_are_made_there(tmp_path: Path) -> None:
    for name in [
        "post/index.html",
        "post/index.html.gz",
        "post/index.html.br",
        "new/index.html",
        "new/index.html.gz",
        "download.tar",
        "download.tar.gz",
        "odd[1].html",
        "odd[1].html.gz",
        "lone.xml.gz",
    ]:
        write(tmp_path, name, b"x")
    live = {"post/index.html", "download.tar", "odd[1].html", "lone.xml"}
    made = siblings.made_on_backend(tmp_path, live, PRECOMPRESSION)
    # Not: a file new to the backend, a .tar.gz download, a name rsync would read as a
    # pattern, a sibling without its file.
    assert made == ["post/index.html.br", "post/index.html.gz"]
    with siblings.exclude_file(made) as exclude:
        assert exclude.read_text() == "/post/index.html.br\n/post/index.html.gz\n"
    assert not exclude.exists()
    assert siblings.made_on_backend(tmp_path, live, None) == []


def make(new: Path, old: Path, listed: list[str], stamp: int = 1_700_000_000) -> dict[str, str]:
    command = scripts.command(
        "make_siblings",
        new=PurePosixPath(new),
        live=PurePosixPath(old),
        stamp=stamp,
        gzip_level=9,
        brotli_quality=11,
        brotli_window=BROTLI_WINDOW,
    )
    result = subprocess.run(
        command,
        shell=True,
        input="".join(f"{path}\n" for path in listed),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = scripts.output("make_siblings", result.stdout)
    return {key: output.value(key) for key in ("linked", "made")}


def test_the_script_links_unchanged_and_compresses_changed(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    for name, data in [("same.html", TEXT), ("-dash.html", TEXT), ("edited.html", TEXT)]:
        write(old, name, data)
        write(old, name + ".gz", compress_gzip(data, 9))
        write(old, name + ".br", compress_brotli(data, 11))
    write(old, "tiny.xml", b"<a/>")
    new.mkdir()
    os.link(old / "same.html", new / "same.html")  # what rsync --link-dest does
    edited = TEXT + b"<p>one more sentence</p>"
    write(new, "edited.html", edited)
    write(new, "-dash.html", edited)
    write(new, "tiny.xml", b"<b/>")
    listed = [
        "same.html.gz",
        "same.html.br",
        "edited.html.gz",
        "edited.html.br",
        "-dash.html.br",
        "tiny.xml.gz",
    ]
    assert make(new, old, listed) == {"linked": "2", "made": "3"}
    for suffix in (".gz", ".br"):
        assert (new / f"same.html{suffix}").stat().st_ino == (
            old / f"same.html{suffix}"
        ).stat().st_ino
    assert gzip.decompress((new / "edited.html.gz").read_bytes()) == edited
    # The brotli command line makes the build's bytes (same quality and window).
    assert (new / "edited.html.br").read_bytes() == compress_brotli(edited, 11)
    assert brotli.decompress((new / "-dash.html.br").read_bytes()) == edited
    assert (new / "edited.html.br").stat().st_mtime == 1_700_000_000
    # Not smaller than the file: no sibling, as in the build; and no part file left behind.
    assert sorted(p.name for p in new.iterdir()) == [
        "-dash.html",
        "-dash.html.br",
        "edited.html",
        "edited.html.br",
        "edited.html.gz",
        "same.html",
        "same.html.br",
        "same.html.gz",
        "tiny.xml",
    ]


def test_the_script_fails_when_a_compressor_fails(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "page.html", TEXT)
    write(new, "page.html", TEXT + b"!")
    command = scripts.command(
        "make_siblings",
        new=PurePosixPath(new),
        live=PurePosixPath(old),
        stamp=0,
        gzip_level=9,
        brotli_quality=11,
        brotli_window=99,
    )
    result = subprocess.run(
        command, shell=True, input="page.html.br\n", capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert not (new / "page.html.br").exists()


def test_setup_names_every_tool_a_backend_lacks() -> None:
    command = scripts.command(
        "require_tools", tools=["sh", "no-such-tool-a", "gzip", "no-such-tool-b"]
    )
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    assert result.returncode == 127
    assert result.stderr == "not installed: no-such-tool-a no-such-tool-b\n"
    only_sh = scripts.command("require_tools", tools=["sh"])
    assert subprocess.run(only_sh, shell=True, check=False).returncode == 0
