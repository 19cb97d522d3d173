"""One `sh` per host for a whole task, each command in a subshell of it.

An SSH command starts the account's login shell, and bash sources ~/.bashrc for every one
(on our test machine `pyenv init`: 100 ms of CPU a command, eight backends at once on two
cores). A publish runs about eight commands per backend; through one long-lived `sh` per
host that start-up is paid once. Each command gets its own subshell (options, `cd`, `exit`
stay inside), its stdin from the caller, and its stdout, stderr and exit status back framed
by byte counts, so nothing a command prints can be mistaken for the framing.
"""

from __future__ import annotations

import base64
import secrets
import shlex
import threading
from dataclasses import dataclass

from paramiko import Channel, Transport

# Run once when the shell starts: a private scratch folder for each command's output, gone
# when the shell ends (end of input when the connection closes, or a hangup).
START = "scratch=$(mktemp -d) || exit 1\ntrap 'rm -rf \"$scratch\"' EXIT\ntrap 'exit 1' HUP TERM\n"


@dataclass(frozen=True)
class Outcome:
    """What one command printed, and its exit status."""

    stdout: str
    stderr: str
    exited: int


class RemoteShell:
    """A `sh` on the far end of `transport`, running one command at a time."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._channel: Channel = transport.open_session()
        self._channel.exec_command("exec sh")
        self._out = self._channel.makefile("rb")
        self._lock = threading.Lock()
        self._broken = False
        # Whatever the login shell printed before `exec sh` (a chatty ~/.bashrc) ends here.
        ready = f"ready {secrets.token_hex(8)}"
        self._channel.sendall(f"{START}printf '%s\\n' {shlex.quote(ready)}\n".encode())
        while (line := self._out.readline()) != f"{ready}\n".encode():
            if not line:
                raise ConnectionError("the remote shell ended before it was ready")

    @property
    def alive(self) -> bool:
        return not self._broken and not self._channel.closed and self.transport.is_active()

    def run(self, line: str, stdin: str) -> Outcome:
        """Run the shell command `line` with `stdin`; return what it printed and its status."""
        # Input travels as base64 in a heredoc: its alphabet has no '-', so no line of it can
        # be the heredoc's end line, and any bytes arrive intact.
        encoded = base64.encodebytes(stdin.encode()).decode()
        script = (
            f"base64 -d >\"$scratch/in\" <<'end-of-input'\n{encoded}end-of-input\n"
            f'( {line}\n) <"$scratch/in" >"$scratch/out" 2>"$scratch/err"\n'
            "status=$?\n"
            'printf \'out %d\\n\' "$(wc -c < "$scratch/out")"; cat "$scratch/out"\n'
            'printf \'err %d\\n\' "$(wc -c < "$scratch/err")"; cat "$scratch/err"\n'
            "printf 'exit %d\\n' \"$status\"\n"
        )
        with self._lock:
            try:
                self._channel.sendall(script.encode())
                stdout = self._section("out")
                stderr = self._section("err")
                exited = int(self._header("exit"))
            except Exception:
                # Out of step with the far end: the next command needs a new shell.
                self._broken = True
                self._channel.close()
                raise
        return Outcome(stdout, stderr, exited)

    def _header(self, name: str) -> str:
        line = self._out.readline().decode(errors="replace")
        if not line:
            raise ConnectionError("the remote shell ended (connection lost?)")
        label, _, value = line.rstrip("\n").partition(" ")
        if label != name:
            raise ConnectionError(f"the remote shell sent {line!r}, expected {name!r}")
        return value

    def _section(self, name: str) -> str:
        size = int(self._header(name))
        data = self._out.read(size)
        if len(data) != size:
            raise ConnectionError("the remote shell ended (connection lost?)")
        return data.decode(errors="replace")
