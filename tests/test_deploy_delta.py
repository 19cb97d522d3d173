"""`fab publish --dry-run` and the delta a small edit costs, for real on loopback; `fab -l`."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest

from deploy.tasks.build import release_time
from tests.support.deploy_stack import (
    FAB,
    BackendNode,
    Stack,
    bytes_sent,
    file_digests,
    published,
    start_stack,
)
from tests.support.site import REPO, TEST_STATS_ENV

pytestmark = pytest.mark.servers

POST = "2013-07-29-wrapping-a-tornado-iostream-with-ssl.rst"
POST_PAGE = "2013/07/29/wrapping-a-tornado-iostream-with-ssl/index.html"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("deploy-delta"))
    try:
        published(stack.fab("publish"))
        yield stack
    finally:
        stack.stop()


def edit_post(stack: Stack, text: str) -> None:
    post = stack.content / POST
    post.write_text(post.read_text() + f"\n{text}\n")


def nginx_workers(node: BackendNode) -> list[str]:
    assert node.process is not None
    master = node.process.pid
    return Path(f"/proc/{master}/task/{master}/children").read_text().split()


def test_dry_run_changes_nothing_and_shows_files_and_config(stack: Stack) -> None:
    live = stack.live_release(stack.backends[0])
    edit_post(stack, "A sentence that a dry run shows and does not ship.")
    stack.set_settings("NGINX_STATIC_MAX_AGE = 3600")
    try:
        before = stack.checksums()
        result = stack.fab("publish", "--dry-run")
        after = stack.checksums()
    finally:
        stack.set_settings()
    assert result.returncode == 0, result.stdout + result.stderr
    assert after == before
    assert len(before) > 300  # both backends' trees and the balancer's folder were compared
    out = result.stdout
    for node in stack.backends:
        match = re.search(rf"^== {node.name}: live {live}, (\d+) change\(s\)$", out, re.M)
        assert match, out
        # The edited post's page, itemized by rsync as a file whose content would change.
        block = out[match.start() : out.index("\n==", match.end())]
        assert re.search(rf"^  <fc\S* {re.escape(POST_PAGE)}$", block, re.M), block
        # Its siblings would not travel: the backend would compress them from it.
        for suffix in (".gz", ".br"):
            assert f"\n  *compress   {POST_PAGE}{suffix}\n" in block, block
        # The vhost diff: only the setting that changed.
        diff = [
            line
            for line in block.splitlines()
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
        ]
        assert diff == [
            '-        add_header Cache-Control "public, max-age=604800" always;',
            '+        add_header Cache-Control "public, max-age=3600" always;',
        ], block
        assert f"--- {node.name}:site.conf (live)" in block
    assert "  balancer:haproxy.cfg: unchanged" in out
    assert re.search(r"all\s+dry-run\s+nothing was changed on any host", out)
    assert {stack.live_release(node) for node in stack.backends} == {live}


def test_fabs_own_dry_flag_is_a_dry_run(stack: Stack) -> None:
    """`fab --dry publish` (Fabric's global flag) means `fab publish --dry-run`."""
    live = stack.live_release(stack.backends[0])
    argv = stack.fab_argv("publish")
    argv.insert(argv.index("publish"), "--dry")
    before = stack.checksums()
    result = subprocess.run(
        argv, cwd=REPO, env={**os.environ, **TEST_STATS_ENV}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"all\s+dry-run\s+nothing was changed on any host", result.stdout)
    assert stack.checksums() == before
    assert {stack.live_release(node) for node in stack.backends} == {live}


def test_publish_after_editing_one_post_sends_little(stack: Stack) -> None:
    old = stack.live_release(stack.backends[0])
    assert old is not None
    edit_post(stack, "One more sentence, the only change of this release.")
    workers = {node.name: nginx_workers(node) for node in stack.backends}
    result = stack.fab("publish")
    new = published(result)
    # Same vhost: nginx is not reloaded (a reload would replace its workers).
    for node in stack.backends:
        assert re.search(
            rf"{node.name}\s+flip\s+current -> {new} \(vhost unchanged\)", result.stdout
        )
        assert nginx_workers(node) == workers[node.name]
    site = {path: path.stat().st_size for path in stack.output.rglob("*") if path.is_file()}
    site_bytes = sum(site.values())
    web1 = stack.backends[0]
    old_files = file_digests(stack.release_root(web1, old))
    new_files = file_digests(stack.release_root(web1, new))
    changed = sorted(
        path
        for path, digest in new_files.items()
        if old_files.get(path) != digest and not path.endswith(".carried")
    )
    # The changed files' .gz and .br siblings do not travel: the backends compress them.
    remade = [p for p in changed if p.endswith((".gz", ".br")) and p[:-3] in changed]
    assert f"/{POST_PAGE}.br" in remade and "/feeds/all.atom.xml.gz" in remade, changed
    sent = bytes_sent(result)
    assert sorted(sent) == [node.name for node in stack.backends]
    for name, (files, sent_bytes) in sent.items():
        print(
            f"\ndelta: {name}: {files} files, {sent_bytes} bytes sent of a {site_bytes}-byte "
            f"site = {sent_bytes / site_bytes:.2%} (target 3%); {len(remade)} .gz/.br "
            "siblings compressed on the backend"
        )
        # Exactly the files whose content changed travel (plus healthz.txt, new every release).
        assert files == len(changed) - len(remade), changed
        assert sent_bytes <= 0.03 * site_bytes
        assert re.search(rf"{name}\s+stage\s+.*; {len(remade)} compressed here;", result.stdout)
    for node in stack.backends:
        old_root, new_root = stack.release_root(node, old), stack.release_root(node, new)
        # What did not change is the same file (a hard link), what changed is new.
        image = "images/haproxy-stats.png"
        assert (new_root / image).stat().st_ino == (old_root / image).stat().st_ino
        assert (new_root / POST_PAGE).stat().st_ino != (old_root / POST_PAGE).stat().st_ino
        assert b"the only change of this release" in (new_root / POST_PAGE).read_bytes()
        # What travelled carries the release's time on every backend alike (same
        # Last-Modified and ETag whichever backend answers).
        assert (new_root / POST_PAGE).stat().st_mtime == release_time(new)
        assert (node.root / "current" / "healthz.txt").read_text() == f"{new}\n"
        for path in remade:
            sibling = new_root / path[1:]
            source = (new_root / path[1:-3]).read_bytes()
            decode = gzip.decompress if path.endswith(".gz") else brotli.decompress
            assert decode(sibling.read_bytes()) == source, path
            assert sibling.stat().st_mtime == release_time(new)
        # The siblings of unchanged files are the live release's, hard-linked.
        sitemap = "sitemap.xml.br"
        assert (new_root / sitemap).stat().st_ino == (old_root / sitemap).stat().st_ino


def test_fab_lists_every_task_with_a_docstring() -> None:
    result = subprocess.run(
        [str(FAB), "-r", str(REPO), "-l"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    listed = dict(
        re.findall(r"^  (\S+)\s+(\S.*)$", result.stdout, re.MULTILINE),
    )
    tasks = ["build", "certificate", "check", "new-post", "preview", "publish", "rollback"]
    tasks += ["serve", "setup", "status"]
    assert sorted(listed) == tasks, result.stdout


def test_setup_again_changes_nothing(stack: Stack) -> None:
    before = stack.checksums()
    result = stack.fab("setup")
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack.checksums() == before
    for host in [*(node.name for node in stack.backends), "balancer"]:
        assert re.search(rf"^\[.*\] {host}\s+setup\s+no change$", result.stdout, re.M), (
            result.stdout
        )


def test_check_runs_the_real_nginx_and_haproxy_on_the_built_config(stack: Stack) -> None:
    result = stack.fab("check")
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.findall(r"^ok   (nginx -t|haproxy -c) ", result.stdout, re.MULTILINE)
    assert checked == ["nginx -t"] * len(stack.backends) + ["haproxy -c"], result.stdout
    # A vhost the local nginx refuses fails the check, naming the file.
    vhost = stack.tmp / "deploy-build" / "nginx" / "web2" / "site.conf"
    vhost.write_text(vhost.read_text() + "\nnot_a_directive on;\n")
    broken = stack.fab("check")
    assert broken.returncode == 1
    assert f"FAIL nginx -t {vhost}" in broken.stdout
    assert 'unknown directive "not_a_directive"' in broken.stdout
