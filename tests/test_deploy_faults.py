"""`fab publish` when things go wrong, for real on loopback: each fault leaves every backend on
the release and vhost it had, the balancer's config as it was, no lock behind, and a message
naming the host and the step. One stack for the module; each test restores the inventory.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.deploy_stack import (
    SITE_HOST,
    Stack,
    file_digests,
    page_paths,
    published,
    start_stack,
)
from tests.support.h2clients import Load

pytestmark = pytest.mark.servers

POST = "2013-07-19-haproxy-stats.rst"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("deploy-faults"))
    try:
        stack.use_own_theme()
        published(stack.fab("publish"))
        yield stack
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def plain_inventory(stack: Stack) -> Iterator[None]:
    yield
    stack.set_settings()


def edit_post(stack: Stack, text: str) -> None:
    post = stack.content / POST
    post.write_text(post.read_text() + f"\n{text}\n")


@dataclass(frozen=True)
class Snapshot:
    """What the hosts serve and with which config."""

    live: dict[str, str | None]
    vhost_link: dict[str, str]
    vhost: dict[str, str]
    releases: dict[str, list[str]]
    # The live release's files (and the list of those it carries): a failed staging takes
    # back the assets it lent to it.
    live_files: dict[str, dict[str, str]]
    haproxy_cfg: str


def carried_list(current: Path) -> str:
    release = current.resolve()
    return (release.parent / f"{release.name}.carried").read_text()


def snapshot(stack: Stack) -> Snapshot:
    return Snapshot(
        live={node.name: stack.live_release(node) for node in stack.backends},
        vhost_link={
            node.name: str((node.root / "nginx" / "live").readlink()) for node in stack.backends
        },
        vhost={node.name: stack.live_vhost(node) for node in stack.backends},
        releases={
            node.name: sorted(p.name for p in (node.root / "releases").iterdir())
            for node in stack.backends
        },
        live_files={
            node.name: file_digests((node.root / "current").resolve())
            | {"carried": carried_list(node.root / "current")}
            for node in stack.backends
        },
        haproxy_cfg=(stack.config_dir / "haproxy.cfg").read_text(),
    )


def assert_untouched(stack: Stack, before: Snapshot) -> None:
    """Same releases and vhosts everywhere (a staged release was discarded), no lock left,
    and haproxy sends traffic to every backend again."""
    assert snapshot(stack) == before
    locks = [node.root / ".deploy.lock" for node in stack.backends]
    assert [lock for lock in [*locks, stack.config_dir / ".deploy.lock"] if lock.exists()] == []
    status = stack.fab("status")
    assert status.returncode == 0, status.stderr
    servers = re.findall(r"^  be_web/(web\d): (\w+), (\w+),", status.stdout, re.MULTILINE)
    assert sorted(servers) == [(node.name, "running", "ready") for node in stack.backends]


def test_a_failed_build_is_not_deployed(stack: Stack) -> None:
    before = snapshot(stack)
    checksums = stack.checksums()
    broken = stack.content / "2099-01-01-broken.rst"
    # A post whose reST has an error: a warning, fatal for a publish build.
    broken.write_text("Broken\n######\n\n:date: 2099-01-01\n\nA `link without end\n")
    try:
        result = stack.fab("publish")
    finally:
        broken.unlink()
    assert result.returncode == 1, result.stdout + result.stderr
    # One line: the file, the line, what is wrong and what to do; no traceback tail.
    assert re.search(
        r"^error: local: build failed: pelican exit 1: \S*content/2099-01-01-broken\.rst:6: "
        r"Inline interpreted text .* without end-string; close the markup",
        result.stderr,
        re.MULTILINE,
    ), result.stderr
    assert "Traceback" not in result.stderr
    assert stack.checksums() == checksums
    assert_untouched(stack, before)


def test_vhost_that_fails_nginx_t_on_backend_2(stack: Stack) -> None:
    # web2 stands for a machine whose nginx lacks the brotli module: the vhost the build
    # generates uses brotli_static, so `nginx -t` of it fails there, and only there.
    check = stack.tmp / "nginx-t-without-brotli"
    check.write_text(
        "#!/bin/sh\n"
        "conf=$(mktemp) && trap 'rm -f \"$conf\"' EXIT\n"
        'sed \'/modules-enabled/d\' "$1" > "$conf"\n'
        'nginx -t -q -e stderr -c "$conf"\n'
    )
    check.chmod(0o755)
    before = snapshot(stack)
    # A vhost change too, so there is a new config to refuse.
    stack.set_settings(
        "NGINX_STATIC_MAX_AGE = 3600",
        f"BACKENDS[1]['nginx_test_command'] = '{check} {{conf}}'",
    )
    edit_post(stack, "A paragraph for a release that never ships (nginx -t).")
    # And a new stylesheet: staging lends it to the live release, discarding takes it back.
    css = stack.tmp / "theme" / "static" / "css" / "style.css"
    css.write_text(css.read_text() + "\n.never-shipped { color: #123456; }\n")
    result = stack.fab("publish")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: web2: stage: nginx -t failed: exit 1" in result.stderr
    assert 'unknown directive "brotli_static"' in result.stderr
    # web1's vhost passed: the failure is web2's alone, yet nothing changed anywhere.
    assert re.search(
        r"web1\s+stage\s+\d+ files, \d+ bytes; \d+ compressed here; nginx -t ok", result.stdout
    )
    assert_untouched(stack, before)


def refuse_first_reload(stack: Stack, server: str, reload: str) -> str:
    """A reload command that fails once, saying so on stderr, then runs `reload`."""
    marker = stack.tmp / f"{server}-reloaded-once"
    marker.unlink(missing_ok=True)
    return (
        f"if [ -e {marker} ]; then {reload}; "
        f"else touch {marker}; echo '{server}: reload refused (test fault)' >&2; exit 1; fi"
    )


def test_failure_after_a_flip_rolls_back_flipped_backends_under_load(stack: Stack) -> None:
    # web2's nginx refuses its first reload (then reloads normally): by then web1 already
    # serves the new release with its new vhost, and both must go back.
    web2 = stack.backends[1]
    reload_once = refuse_first_reload(stack, "nginx", f"kill -HUP $(cat {web2.prefix}/nginx.pid)")
    before = snapshot(stack)
    pages = [*(p for p in page_paths(stack.output) if p != "/404.html"), "/healthz.txt"]
    stack.set_settings(
        "NGINX_STATIC_MAX_AGE = 7200", f"BACKENDS[1]['nginx_reload_command'] = {reload_once!r}"
    )
    edit_post(stack, "A paragraph for a release that is rolled back after one flip.")
    with Load(stack, pages, h2_per_kind=1) as load:
        load.phase("failed publish, rolled back")
        result = stack.fab("publish")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "error: web2: nginx reload failed: exit 1: nginx: reload refused (test fault)"
        in result.stderr
    )
    out = result.stdout
    # web1 really went live on the new release before it was put back.
    assert re.search(r"web1\s+ready\s+serving ", out)
    assert re.search(r"web2\s+rollback\s+back to ", out)
    assert re.search(r"web1\s+rollback\s+back to ", out)
    assert out.index("web2       rollback") < out.index("web1       rollback")
    print(f"\nfailure after a flip, rolled back under load:\n{load.report()}")
    for client in load.clients:
        assert client.failures().total() == 0, client.failures().most_common(5)
    assert load.http1.stale_retries == 0
    assert all(client.resent["REFUSED_STREAM"] == 0 for client in load.compliant)
    stack.set_settings()
    assert_untouched(stack, before)


class CuttingProxy:
    """A TCP relay in front of sshd for one "machine": its first connection (Fabric's, which
    lives for the whole command) passes untouched; any later one (rsync's ssh) is cut once
    `after` bytes have gone towards the server, as if the network dropped mid-transfer."""

    def __init__(self, address: str, upstream: tuple[str, int], after: int) -> None:
        self.upstream, self.after = upstream, after
        self.listener = socket.create_server((address, 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.cut = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            server = socket.create_connection(self.upstream)
            limit = self.after if self.connections > 1 else None
            threading.Thread(target=self._pump, args=(client, server, limit), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        passed = 0
        try:
            while data := source.recv(65536):
                sink.sendall(data)
                passed += len(data)
                if limit is not None and passed > limit:
                    self.cut += 1
                    break
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self.listener.close()


def test_failed_haproxy_reload_restores_its_config_and_every_backend(stack: Stack) -> None:
    # The balancer is the last step: both backends already serve the new release when
    # haproxy refuses its first reload of the new haproxy.cfg. All of it must go back.
    pidfile = stack.haproxy_dir / "haproxy.pid"
    reload_once = refuse_first_reload(stack, "haproxy", f"kill -USR2 $(cat {pidfile})")
    before = snapshot(stack)
    stack.set_settings(
        "HAPROXY_STATS_REFRESH = 7", f"BALANCER['haproxy_reload_command'] = {reload_once!r}"
    )
    edit_post(stack, "A paragraph for a release that the balancer turns back.")
    result = stack.fab("publish")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "error: balancer: haproxy reload failed: exit 1: haproxy: reload refused (test fault)"
        in result.stderr
    ), result.stderr
    # It failed after every flip, so the restore really had something to undo.
    for node in stack.backends:
        assert re.search(rf"{node.name}\s+flip\b", result.stdout), result.stdout
    assert (stack.tmp / "haproxy-reloaded-once").exists()
    assert_untouched(stack, before)


def test_ssh_to_backend_2_drops_during_the_transfer(stack: Stack) -> None:
    web2 = stack.backends[1]
    # A release with a big new file, so that rsync has well over `after` bytes to send.
    blob = stack.content / "extra" / "drop-test.bin"
    blob.write_bytes(os.urandom(400_000))
    proxy = CuttingProxy(web2.address, (web2.address, stack.sshd.port), after=100_000)
    try:
        before = snapshot(stack)
        stack.set_settings(f"BACKENDS[1]['ssh_port'] = {proxy.port}")
        result = stack.fab("publish")
    finally:
        proxy.close()
        blob.unlink()
        stack.set_settings()
    assert proxy.cut == 1, f"{proxy.connections} connection(s), {proxy.cut} cut"
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^error: web2: stage: rsync failed: exit \d+: ", result.stderr, re.M)
    # web1 got the whole release, then gave it up when web2 failed.
    assert re.search(
        r"web1\s+stage\s+\d+ files, \d+ bytes; \d+ compressed here; nginx -t ok", result.stdout
    )
    assert_untouched(stack, before)


def test_second_publish_is_refused_by_the_lock(stack: Stack) -> None:
    web1 = stack.backends[0]
    lock = web1.root / ".deploy.lock"
    # The balancer's lock guards the others: a second publish is refused there.
    guard = stack.config_dir / ".deploy.lock"
    edit_post(stack, "A paragraph for the locked publish.")
    first = stack.fab_background("publish", log=stack.tmp / "first-publish.log")
    try:
        deadline = time.monotonic() + 60
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.exists(), (stack.tmp / "first-publish.log").read_text()
        live = stack.live_release(web1)
        second = stack.fab("publish")
    finally:
        assert first.wait(300) == 0, (stack.tmp / "first-publish.log").read_text()
    assert second.returncode == 1
    holder = rf"holder=\S+ pid {first.pid} since=\S+ for=publish \S+"
    assert re.search(
        rf"^error: balancer: lock failed: {re.escape(str(guard))} is held \({holder}\) for \d+s; "
        "rerun with --break-lock if that deploy is dead$",
        second.stderr,
        re.MULTILINE,
    ), second.stderr
    # Refused before building or touching anything: the first publish went through alone.
    assert "build" not in second.stdout
    first_release = published_from_log(stack)
    assert live != first_release
    assert {stack.live_release(node) for node in stack.backends} == {first_release}
    assert not lock.exists()


def published_from_log(stack: Stack) -> str:
    text = (stack.tmp / "first-publish.log").read_text()
    match = re.search(r"^published release (\S+) in ", text, re.MULTILINE)
    assert match, text
    return match.group(1)


def test_stale_lock_is_named_with_its_age_and_broken_by_the_flag(stack: Stack) -> None:
    web2 = stack.backends[1]
    lock = web2.root / ".deploy.lock"
    lock.write_text("holder=ghost@old-laptop pid 4242 since=2026-01-01T00:00:00Z for=publish x\n")
    two_hours_ago = time.time() - 7200
    os.utime(lock, (two_hours_ago, two_hours_ago))
    before = snapshot(stack)
    refused = stack.fab("publish")
    assert refused.returncode == 1
    assert re.search(
        r"^error: web2: lock failed: .* is held \(holder=ghost@old-laptop pid 4242 "
        r"since=2026-01-01T00:00:00Z for=publish x\) for 7[12]\d\ds; rerun with --break-lock",
        refused.stderr,
        re.MULTILINE,
    ), refused.stderr
    assert snapshot(stack) == before
    assert lock.exists()
    edit_post(stack, "A paragraph published over a stale lock.")
    release = published(stack.fab("publish", "--break-lock"))
    assert {stack.live_release(node) for node in stack.backends} == {release}
    assert not lock.exists()


def wait_for_server_state(stack: Stack, server: str, state: str, timeout: float = 60) -> float:
    """Poll `fab status` until haproxy reports `server` in `state`; return the seconds taken."""
    started = time.monotonic()
    while True:
        status = stack.fab("status")
        if re.search(rf"^  be_web/{server}: {state},", status.stdout, re.MULTILINE):
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, status.stdout + status.stderr
        time.sleep(0.5)


def test_backend_nginx_killed_under_load(stack: Stack) -> None:
    web2 = stack.backends[1]
    pages = [*(p for p in page_paths(stack.output) if p != "/404.html"), "/healthz.txt"]
    try:
        with Load(stack, pages, h2_per_kind=1) as load:
            time.sleep(2)
            load.phase("nginx on web2 killed")
            stack.kill_nginx(web2)
            marked_down = wait_for_server_state(stack, "web2", "stopped")
    finally:
        stack.start_nginx(web2)
    print(
        f"\nnginx on web2 killed under load (haproxy marked web2 down after {marked_down:.1f}s):"
        f"\n{load.report()}"
    )
    wait_for_server_state(stack, "web2", "running")
    # haproxy retries a GET whose connection failed or came back empty on the other server.
    for client in load.clients:
        assert client.failures().total() == 0, client.failures().most_common(5)


def test_haproxy_log_tells_what_went_wrong(stack: Stack) -> None:
    with (
        socket.create_connection(("127.0.0.1", stack.https_port), timeout=10) as raw,
        stack.https_context().wrap_socket(raw, server_hostname=SITE_HOST) as tls,
    ):
        tls.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = tls.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    deadline = time.monotonic() + 10
    while "<BADREQ>" not in stack.haproxy_log() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = stack.haproxy_log()
    # haproxy's request log line: frontend, <NOSRV>, status, and what it could not parse.
    assert re.search(r"fe_https~ fe_https/<NOSRV> \S+ 400 .*<BADREQ>", log), log[-2000:]
    assert "failed in logger" not in log
