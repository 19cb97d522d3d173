"""`fab publish` / `rollback` / `status` for real: sshd, two nginx backends and haproxy on loopback.

One stack for the module; the tests run in order and each starts from what the one before
left live (the release ids they expect are read back from the hosts, never assumed).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deploy_stack import (
    LoadClient,
    Stack,
    file_digests,
    page_paths,
    published,
    start_stack,
)
from tests.support.h2clients import Load

pytestmark = pytest.mark.servers

POST = "2013-07-29-wrapping-a-tornado-iostream-with-ssl.rst"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("deploy-rolling"))
    try:
        stack.use_own_theme()
        yield stack
    finally:
        stack.stop()


def change_site(stack: Stack, tag: str) -> None:
    """A release that differs everywhere: new text in one post, a new stylesheet (so every
    page names a new fingerprinted CSS file that the other release does not have)."""
    post = stack.content / POST
    post.write_text(post.read_text() + f"\nRelease marker paragraph {tag}.\n")
    css = stack.tmp / "theme" / "static" / "css" / "style.css"
    css.write_text(css.read_text() + f'\n.release-{tag} {{ content: "{tag}"; }}\n')


def assert_live(stack: Stack, release: str) -> None:
    """Every backend serves `release`, on disk and in `fab status`."""
    assert {node.name: stack.live_release(node) for node in stack.backends} == {
        node.name: release for node in stack.backends
    }
    status = stack.fab("status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.count(f"live release:  {release}\n") == len(stack.backends), status.stdout
    servers = re.findall(r"^  be_web/(web\d): (\w+), (\w+),", status.stdout, re.MULTILINE)
    assert sorted(servers) == [(node.name, "running", "ready") for node in stack.backends]


def releases_on(stack: Stack) -> dict[str, list[str]]:
    return {
        node.name: sorted(p.name for p in (node.root / "releases").iterdir() if p.is_dir())
        for node in stack.backends
    }


def test_first_publish_prints_progress_and_summary(stack: Stack) -> None:
    result = stack.fab("publish")
    release = published(result)
    assert_live(stack, release)
    out = result.stdout
    # Progress per host and phase, in order for each backend.
    for node in stack.backends:
        phases = re.findall(rf"^\[\s*[\d.]+s\] {node.name}\s+(\w+)", out, re.MULTILINE)
        assert phases == ["stage", "stage", "drain", "flip", "ready"], out
    assert re.search(r"^\[\s*[\d.]+s\] balancer\s+stage\s+haproxy -c ok$", out, re.MULTILINE)
    assert re.search(r"^\[\s*[\d.]+s\] all\s+lock\s+3 hosts locked$", out, re.MULTILINE)
    # The end: release id and time, then files and bytes per backend (a first release
    # sends the whole site, so both numbers are the build's).
    site_files = sum(1 for p in stack.output.rglob("*") if p.is_file())
    summary = out[out.index(f"published release {release} in ") :].splitlines()
    assert re.fullmatch(rf"published release {release} in [\d.]+s", summary[0])
    assert [line.split(":")[0].strip() for line in summary[1:]] == ["web1", "web2"]
    for line in summary[1:]:
        files, sent = map(
            int, re.fullmatch(r"  web\d: (\d+) files, (\d+) bytes sent", line).groups()
        )
        assert files == site_files
        assert sent > sum(p.stat().st_size for p in stack.output.rglob("*") if p.is_file())
    # The healthz file of the live release is what every backend answers.
    for node in stack.backends:
        assert (node.root / "current" / "healthz.txt").read_text() == f"{release}\n"


def test_status_reports_releases_and_vhost_checksum(stack: Stack) -> None:
    result = stack.fab("status")
    assert result.returncode == 0, result.stderr
    for node in stack.backends:
        live = stack.live_release(node)
        kept = sorted(p.name for p in (node.root / "releases").iterdir() if p.is_dir())
        # The same digest as the deploy's: sha256 over `sha256sum` of every vhost file.
        digest = subprocess.run(
            "find -L . -type f -print0 | sort -z | xargs -0r sha256sum | sha256sum",
            shell=True,
            cwd=node.root / "nginx" / "live",
            capture_output=True,
            text=True,
            check=True,
        ).stdout[:16]
        block = (
            f"{node.name} ({node.address}:{stack.sshd.port} {node.root})\n"
            f"  live release:  {live}\n"
            f"  releases kept: {', '.join(kept)}\n"
            f"  nginx config:  {live} sha256 {digest}\n"
        )
        assert block in result.stdout


def judge(stack: Stack, client: LoadClient, releases: list[str]) -> dict[str, int]:
    """Check every page response is one release's page and its assets that release's files;
    count the pages each release served. Release trees are read from web1's disk, after the fact."""
    node = stack.backends[0]
    trees = {release: file_digests(stack.release_root(node, release)) for release in releases}

    def file_of(path: str) -> str:
        return path + "index.html" if path.endswith("/") else path

    seen: dict[str, int] = {}
    mixed = []
    for page, count in client.fetches.items():
        if any(fetch.status != 200 for fetch in (page, *page.assets)):
            continue  # a failed request: counted and judged apart
        candidates = [r for r in releases if trees[r].get(file_of(page.path)) == page.sha256]
        whole = [
            r
            for r in candidates
            if all(trees[r].get(asset.path) == asset.sha256 for asset in page.assets)
        ]
        if len(whole) == 0:
            mixed.append((page.path, candidates, [(a.path, a.status) for a in page.assets]))
        for release in whole:
            seen[release] = seen.get(release, 0) + count
    print(f"pages per release: {seen}")
    assert mixed == [], f"{len(mixed)} page(s) not from one whole release, e.g. {mixed[:3]}"
    return seen


def runtime_api(stack: Stack, command: str) -> str:
    return subprocess.run(
        ["socat", "-t", "5", "-", f"UNIX-CONNECT:{stack.haproxy_dir / 'admin.sock'}"],
        input=f"{command}\n",
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout


def haproxy_worker_pid(stack: Stack) -> int:
    """The pid of the haproxy worker that answers the runtime API (a reload starts a new one)."""
    match = re.search(r"^Pid: (\d+)$", runtime_api(stack, "show info"), re.MULTILINE)
    assert match
    return int(match.group(1))


def backend_trouble(stack: Stack) -> Counter[str]:
    """be_web's retries, redispatches and response errors so far (this haproxy worker's)."""
    header, *rows = runtime_api(stack, "show stat").splitlines()
    names = header.removeprefix("# ").split(",")
    for row in rows:
        values = dict(zip(names, row.split(","), strict=False))
        if values["pxname"] == "be_web" and values["svname"] == "BACKEND":
            return Counter({key: int(values[key] or 0) for key in ("wretr", "wredis", "eresp")})
    raise AssertionError("no be_web in show stat")


def test_publish_rollback_publish_under_load(stack: Stack) -> None:
    first = stack.live_release(stack.backends[0])
    assert first is not None
    # /404.html is internal (nginx serves it only as the body of a 404).
    pages = [*(p for p in page_paths(stack.output) if p != "/404.html"), "/healthz.txt"]
    assert len(pages) > 20
    change_site(stack, "b")
    haproxy_reload = "publish, haproxy reload"
    with Load(stack, pages) as load:
        time.sleep(1)
        # A new vhost too: every backend's nginx reloads.
        load.phase("publish, nginx reload")
        stack.set_settings("NGINX_STATIC_MAX_AGE = 600")
        result = stack.fab("publish")
        second = published(result)
        assert second != first
        assert result.stdout.count("nginx reloaded (vhost changed)") == 2, result.stdout
        assert_live(stack, second)

        load.phase("rollback, nginx reload")
        rollback = stack.fab("rollback")
        assert rollback.returncode == 0, rollback.stdout + rollback.stderr
        assert f"rolled back to {first} in " in rollback.stdout
        assert_live(stack, first)

        # The third release changes the balancer's config alone: a seamless haproxy reload.
        load.phase(haproxy_reload)
        change_site(stack, "c")
        worker = haproxy_worker_pid(stack)
        stack.set_settings("HAPROXY_STATS_REFRESH = 5")
        result = stack.fab("publish")
        third = published(result)
        assert "nginx reloaded" not in result.stdout
        assert re.search(
            r"balancer\s+install\s+haproxy.cfg installed, haproxy reloaded", result.stdout
        )
        assert "    stats refresh 5s\n" in (stack.config_dir / "haproxy.cfg").read_text()
        assert haproxy_worker_pid(stack) != worker
        assert_live(stack, third)
        # Some traffic on the last release alone before the clients stop.
        load.phase("after")
        time.sleep(2)
    print(f"\nunder load, per client kind and phase:\n{load.report()}")
    for client in [load.http1, *load.compliant]:
        assert client.failures().total() == 0, client.failures().most_common(5)
    # option idle-close-on-response: a reload answers an idle HTTP/1.1 connection's next
    # request with a close instead of dropping it, so no client has to resend.
    assert load.http1.stale_retries == 0
    # No stream was refused: no nginx reload left haproxy with one server mid-reload.
    assert all(client.resent["REFUSED_STREAM"] == 0 for client in load.compliant)
    # httpx fails the request in flight on each connection when the old haproxy worker sends
    # its GOAWAY; one connection per strict client, one reload: at most one failure each.
    assert load.failures(load.strict) == load.failures(load.strict, haproxy_reload)
    assert load.failures(load.strict, haproxy_reload) <= len(load.strict)
    for client in load.clients:
        pages_served = [page for page in client.fetches if page.status == 200]
        assert all(page.assets for page in pages_served if page.path.endswith((".html", "/")))
        seen = judge(stack, client, [first, second, third])
        # Traffic really crossed every flip: pages of all three releases were served.
        assert set(seen) == {first, second, third}


def test_nginx_reloads_under_load_leave_haproxy_nothing_to_retry(stack: Stack) -> None:
    # A backend whose nginx reloaded is set ready only once the reload has settled: when the
    # next one drains, haproxy never depends alone on a server that is closing connections
    # under it (the retries then stay on it, and the last one reached a client as
    # RST_STREAM REFUSED_STREAM).
    pages = [p for p in page_paths(stack.output) if p != "/404.html"]
    # The inventory every round keeps but for the vhost, live before the load starts: no
    # round reloads haproxy.
    stack.set_settings()
    published(stack.fab("publish"))
    before = backend_trouble(stack)
    worker = haproxy_worker_pid(stack)
    with Load(stack, pages, h2_per_kind=1) as load:
        for round_, max_age in enumerate((900, 1200, 900, 1200)):
            load.phase(f"publish {round_ + 1}, nginx reload")
            change_site(stack, f"reload{round_}")
            stack.set_settings(f"NGINX_STATIC_MAX_AGE = {max_age}")
            result = stack.fab("publish")
            published(result)
            assert result.stdout.count("nginx reloaded (vhost changed)") == 2, result.stdout
            assert re.search(r"balancer\s+install\s+haproxy.cfg unchanged", result.stdout)
    # haproxy is reloaded only for a changed haproxy.cfg: its clients never saw a GOAWAY.
    assert haproxy_worker_pid(stack) == worker
    trouble = backend_trouble(stack) - before
    print(f"\nnginx reloads under load:\n{load.report()}\nhaproxy be_web: {dict(trouble)}")
    for client in load.clients:
        assert client.failures().total() == 0, client.failures().most_common(5)
    assert all(client.resent["REFUSED_STREAM"] == 0 for client in load.compliant)
    assert trouble == Counter(), stack.haproxy_log()[-3000:]


def test_prune_keeps_releases_kept(stack: Stack) -> None:
    change_site(stack, "d")
    before = releases_on(stack)
    assert all(len(kept) == 3 for kept in before.values()), before
    fourth = published(stack.fab("publish"))
    after = releases_on(stack)
    # DEPLOY_RELEASES_KEPT = 3 in the test inventory: the oldest goes, with its vhost.
    for node in stack.backends:
        assert after[node.name] == [*before[node.name][1:], fourth]
        oldest = before[node.name][0]
        assert not (node.root / "nginx" / oldest).exists()
        assert not (node.root / "releases" / f"{oldest}.carried").exists()
    assert_live(stack, fourth)


def test_rollback_to_a_named_release(stack: Stack) -> None:
    kept = releases_on(stack)["web1"]
    target = kept[0]
    result = stack.fab("rollback", "--to", target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"rolled back to {target} in " in result.stdout
    assert_live(stack, target)
    for node in stack.backends:
        # The vhost that went with that release is live again too.
        assert (node.root / "nginx" / "live").readlink() == Path(target)


def test_rollback_to_a_release_that_is_gone_is_refused(stack: Stack) -> None:
    live = stack.live_release(stack.backends[0])
    result = stack.fab("rollback", "--to", "20000101T000000Z-000000")
    assert result.returncode == 1
    assert "web1: rollback failed: release 20000101T000000Z-000000 is not there" in result.stderr
    bad = stack.fab("rollback", "--to", "../../etc")
    assert bad.returncode == 1
    assert "release id '../../etc'" in bad.stderr
    assert {stack.live_release(node) for node in stack.backends} == {live}
