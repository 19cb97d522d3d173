"""Commands through one remote `sh` per host, over a real test sshd on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric import Config, Connection

from deploy.errors import DeployError
from deploy.hosts.ssh import run
from tests.support.sshd import Sshd, start_sshd, stop_sshd

pytestmark = pytest.mark.servers

# A login that talks before running the command, in the framing's own words.
CHATTY = (
    "ForceCommand echo 'Welcome to web9'; echo 'out 99'; echo 'exit 1';"
    ' exec sh -c "$SSH_ORIGINAL_COMMAND"\n'
)


def connection(sshd: Sshd) -> Connection:
    config = Config(runtime_ssh_path=str(sshd.ssh_config))
    config.load_ssh_config()
    return Connection(sshd.addresses[0], user=sshd.user, port=sshd.port, config=config)


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    sshd = start_sshd(tmp_path_factory.mktemp("sshd"))
    conn = connection(sshd)
    try:
        yield conn
    finally:
        conn.close()
        stop_sshd(sshd)


def test_input_output_and_status_arrive_intact(conn: Connection) -> None:
    # Lines that look like the heredoc's end and the framing, non-ASCII, no final newline.
    stdin = "end-of-input\nout 5\nerr 0\nexit 0\nnaïve ✓\n\n  last line"
    command = "cat; echo oops >&2; exit 3"
    result = run(conn, command, host="web1", step="t", stdin=stdin, check=False)
    assert (result.stdout, result.stderr, result.exited) == (stdin, "oops\n", 3)
    empty = run(conn, "cat; printf 'no newline'", host="web1", step="t")
    assert (empty.stdout, empty.stderr, empty.exited) == ("no newline", "", 0)


def test_every_command_runs_in_one_shell_and_leaves_it_as_it_was(
    conn: Connection, tmp_path: Path
) -> None:
    shells = {run(conn, "echo $$", host="web1", step="t").stdout for _ in range(3)}
    assert len(shells) == 1, shells  # $$ in a subshell: the host's one remote shell
    run(conn, f"set -C; cd {tmp_path}; export LEAK=yes; exit 0", host="web1", step="t")
    after = run(conn, "pwd; echo ${LEAK-none}; : > f; : > f", host="web1", step="t", check=False)
    # No noclobber (the second `: > f` works), no cd, no variable: each had its own subshell.
    assert after.exited == 0, after.stderr
    assert after.stdout.splitlines()[1] == "none"
    assert after.stdout.splitlines()[0] != str(tmp_path)


def test_the_shell_cleans_up_when_the_connection_closes(tmp_path: Path) -> None:
    sshd = start_sshd(tmp_path / "sshd")
    conn = connection(sshd)
    try:
        scratch = Path(run(conn, 'echo "$scratch"', host="web1", step="t").stdout.strip())
        assert scratch.is_dir()
        conn.close()
        deadline = time.monotonic() + 10
        while scratch.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        conn.close()
        stop_sshd(sshd)
    assert not scratch.exists()


def test_a_failed_command_names_host_and_step(conn: Connection) -> None:
    with pytest.raises(DeployError) as error:
        run(conn, "echo 'no such release' >&2; exit 4", host="web2", step="flip to x")
    assert str(error.value) == "web2: flip to x failed: exit 4: no such release"


def test_whatever_the_login_prints_is_not_taken_for_output(tmp_path: Path) -> None:
    sshd = start_sshd(tmp_path / "sshd", extra_config=CHATTY)
    conn = connection(sshd)
    try:
        result = run(conn, "echo hello; exit 2", host="web9", step="t", check=False)
    finally:
        conn.close()
        stop_sshd(sshd)
    assert (result.stdout, result.stderr, result.exited) == ("hello\n", "", 2)


def test_a_shell_that_dies_is_an_ssh_error_then_replaced(conn: Connection) -> None:
    with pytest.raises(DeployError) as error:
        run(conn, "kill -9 $$", host="web1", step="state")
    assert "web1: state failed: SSH to " in str(error.value)
    assert "the remote shell ended" in str(error.value)
    assert run(conn, "echo back", host="web1", step="t").stdout == "back\n"
