"""One deploy at a time, for real on loopback: two publishes started at the same moment, again
and again; every time exactly one goes through and the other is refused with a clear message."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.tasks.build import new_release_id
from tests.support.deploy_stack import Stack, start_stack

pytestmark = pytest.mark.servers

ROUNDS = 20
# A bound on the whole stress test; one round is one publish of an unchanged site.
MAX_SECONDS = 600


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = start_stack(tmp_path_factory.mktemp("deploy-lock"))
    try:
        yield stack
    finally:
        stack.stop()


def test_release_ids_made_in_the_same_second_differ(tmp_path: Path) -> None:
    source = tmp_path / "content"
    source.mkdir()
    (source / "post.rst").write_text("Same sources\n############\n")
    ids = {new_release_id([source]) for _ in range(50)}
    assert len(ids) == 50
    # Still sorted by time first: the stamp leads.
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}-[0-9a-f]{6}", i) for i in ids), ids


def test_two_publishes_started_together_exactly_one_proceeds(stack: Stack) -> None:
    guard = stack.config_dir / ".deploy.lock"
    started = time.monotonic()
    released = []
    for round_ in range(ROUNDS):
        assert time.monotonic() - started < MAX_SECONDS, f"only {round_} rounds in time"
        logs = [stack.tmp / f"round{round_}-{n}.log" for n in (1, 2)]
        both = [stack.fab_background("publish", log=log) for log in logs]
        codes = [process.wait(300) for process in both]
        outputs = [log.read_text() for log in logs]
        assert sorted(codes) == [0, 1], f"round {round_}: exit codes {codes}\n" + "\n".join(outputs)
        winner = codes.index(0)
        loser_output = outputs[1 - winner]
        release = re.search(r"^published release (\S+) in ", outputs[winner], re.MULTILINE)
        assert release, outputs[winner]
        released.append(release.group(1))
        holder = rf"holder=\S+ pid {both[winner].pid} since=\S+ for=publish {release.group(1)}"
        assert re.search(
            rf"^error: balancer: lock failed: {re.escape(str(guard))} is held \({holder}\) "
            r"for \d+s; rerun with --break-lock if that deploy is dead$",
            loser_output,
            re.MULTILINE,
        ), f"round {round_}:\n{loser_output}"
        # Refused before building or touching any backend.
        assert "build" not in loser_output
    print(f"\n{ROUNDS} rounds of two publishes in {time.monotonic() - started:.1f}s")
    assert len(set(released)) == ROUNDS
    assert {stack.live_release(node) for node in stack.backends} == {released[-1]}
    locks = [guard, *(node.root / ".deploy.lock" for node in stack.backends)]
    assert [lock for lock in locks if lock.exists()] == []
