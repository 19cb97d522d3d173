"""A real OpenSSH server on loopback, for the deploy tests and benchmarks.

`start_sshd(directory, addresses)` generates a host key and a user key under `directory`,
listens on one high port on each loopback address (one "machine" per address), lets the
current user in with the key only, and returns an `Sshd` whose `ssh_config` file makes both
`ssh`/rsync and Fabric (`fab -S`) use that key and trust that host key. Stop it with
`stop_sshd` (by PID).
"""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import Process, _start, free_port, stop

SSHD = "/usr/sbin/sshd"
KEYGEN = "ssh-keygen"
HOST_KEY_ALIAS = "blog-test-sshd"


@dataclass
class Sshd:
    """A running test sshd and the client files that reach it."""

    process: Process
    port: int
    user: str
    identity: Path
    ssh_config: Path
    addresses: tuple[str, ...]


def _keygen(path: Path) -> None:
    subprocess.run(
        [KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def write_client_config(directory: Path, identity: Path, host_key: Path) -> Path:
    """An ssh_config (and its known_hosts) for a test sshd: every test "machine" is one sshd,
    its one key trusted under one alias and checked strictly."""
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(f"{HOST_KEY_ALIAS} {host_key.with_suffix('.pub').read_text()}")
    config = directory / "ssh_config"
    config.write_text(
        "Host *\n"
        f"    IdentityFile {identity}\n"
        "    IdentitiesOnly yes\n"
        f"    HostKeyAlias {HOST_KEY_ALIAS}\n"
        f"    UserKnownHostsFile {known_hosts}\n"
        "    StrictHostKeyChecking yes\n"
        "    BatchMode yes\n"
        "    LogLevel ERROR\n"
    )
    return config


def start_sshd(
    directory: Path, addresses: Sequence[str] = ("127.0.0.1",), *, extra_config: str = ""
) -> Sshd:
    """Start `sshd -D` listening on `addresses` at one free high port (`extra_config` is
    appended to its sshd_config)."""
    directory.mkdir(parents=True, exist_ok=True)
    # sshd refuses to start without its privilege-separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_key, identity = directory / "host_key", directory / "id_ed25519"
    _keygen(host_key)
    _keygen(identity)
    authorized = directory / "authorized_keys"
    authorized.write_text(identity.with_suffix(".pub").read_text())
    port = free_port(addresses[0])
    listen = "".join(f"ListenAddress {address}:{port}\n" for address in addresses)
    config = directory / "sshd_config"
    config.write_text(
        f"{listen}"
        f"HostKey {host_key}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        # pytest's temp dirs fail sshd's ownership checks on key files.
        "StrictModes no\n"
        # A publish to eight backends opens many connections at once.
        "MaxStartups 200\n"
        "MaxSessions 100\n"
        "Subsystem sftp internal-sftp\n"
        # Sessions run as the account running the tests, whose ~/.bashrc bash sources for every
        # SSH command (on this machine `pyenv init`: 120 ms a command). A backend's deploy
        # account has a plain shell; a shell level of 1 makes bash skip ~/.bashrc likewise.
        "SetEnv SHLVL=1\n"
        "LogLevel ERROR\n"
        f"{extra_config}"
    )
    client = write_client_config(directory, identity, host_key)
    process = _start(
        "sshd",
        [SSHD, "-D", "-e", "-f", str(config)],
        directory / "sshd.log",
        [(address, port) for address in addresses],
    )
    return Sshd(process, port, getpass.getuser(), identity, client, tuple(addresses))


def stop_sshd(sshd: Sshd) -> None:
    """Stop the test sshd by its PID (sessions it forked end with their connections)."""
    stop(sshd.process)
