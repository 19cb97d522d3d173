"""A bare Debian 12 host on loopback: a debootstrap root with its own sshd, for `fab setup`.

`cached_root_tarball()` returns a tarball of `debootstrap --variant=minbase bookworm` plus
openssh-server (what a fresh Debian host answers SSH with), built once into CACHE (about
30 s and Debian's mirror) and rebuilt when missing. It only saves time: every host is
unpacked from it afresh, and nothing in it decides whether a test passes.

`start_debian_host(directory, address)` unpacks a copy under `directory`, mounts /proc and
the shared .deb cache (CACHE/apt-archives on /var/cache/apt/archives, so apt downloads each
package once per machine), installs a policy-rc.d that refuses every service start (there is
no systemd inside; a test runs the start and reload commands itself, as settings), and runs
the root's own sshd chrooted, on `address` at a free high port, letting root in with a fresh
key. `DebianHost.stop()` stops every process whose root is that copy, by PID, then unmounts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import Process, _start, free_port
from tests.support.sshd import write_client_config

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "blog-tests"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# Bump when what goes into the cached root changes: an old tarball is then rebuilt.
ROOT_VERSION = 1
INCLUDE = ["openssh-server"]
# invoke-rc.d asks this before a maintainer script starts a service: 101 means "not allowed".
POLICY_RC_D = "#!/bin/sh\n# Written by the tests: no service starts inside this root.\nexit 101\n"


@dataclass
class DebianHost:
    """A running bare host: its root on this machine and how to SSH into it."""

    root: Path
    address: str
    port: int
    identity: Path
    ssh_config: Path
    sshd: Process
    mounts: list[Path]

    def path(self, inside: str) -> Path:
        """Where a path of the host lives on this machine."""
        return self.root / inside.lstrip("/")

    def run(self, command: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `command` with sh inside the root (the test's hand on the host, not SSH)."""
        return subprocess.run(
            ["chroot", str(self.root), "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        )

    def pids(self) -> list[int]:
        """Every process on this machine whose root directory is this host's root."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if (entry / "root").readlink() == self.root:
                        found.append(int(entry.name))
        return found

    def stop(self) -> None:
        """Stop sshd and everything started inside (by PID), then unmount what we mounted."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while pids and self.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.sshd.popen.wait(5)
        _unmount(self.mounts)


def cached_root_tarball() -> Path:
    """The minbase bookworm root with openssh-server, as a tarball; built when missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"debian-{SUITE}-minbase-v{ROOT_VERSION}.tar"
    # Several test runs on one machine: one builds, the others wait for it.
    with (CACHE / "root.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.is_file():
            return tarball
        work = CACHE / f"build-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        try:
            argv = ["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}"]
            result = subprocess.run(
                [*argv, SUITE, str(work), MIRROR], capture_output=True, text=True, timeout=900
            )
            if result.returncode != 0:
                raise RuntimeError(f"debootstrap failed:\n{result.stdout[-3000:]}")
            # The .debs debootstrap fetched stay out of the tarball (archives is a mount).
            for deb in (work / "var/cache/apt/archives").glob("*.deb"):
                deb.unlink()
            partial = CACHE / f"{tarball.name}.part"
            subprocess.run(
                ["tar", "--numeric-owner", "-C", str(work), "-cf", str(partial), "."],
                check=True,
                capture_output=True,
                timeout=600,
            )
            partial.rename(tarball)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return tarball


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _mount(argv: list[str], target: Path, mounts: list[Path]) -> None:
    subprocess.run([*argv, str(target)], check=True, capture_output=True, timeout=30)
    mounts.append(target)


def _unmount(mounts: list[Path]) -> None:
    # Lazily when busy: a mount left behind would let a later `rm -rf` of the temp dir reach
    # into the shared .deb cache.
    while mounts:
        mount = mounts.pop()
        if subprocess.run(["umount", str(mount)], capture_output=True, timeout=30).returncode:
            subprocess.run(
                ["umount", "-l", str(mount)], check=True, capture_output=True, timeout=30
            )


def start_debian_host(directory: Path, address: str) -> DebianHost:
    """Unpack a fresh bare host under `directory` and start its sshd on `address`."""
    root = directory / "root"
    root.mkdir(parents=True)
    subprocess.run(
        ["tar", "--numeric-owner", "-C", str(root), "-xf", str(cached_root_tarball())],
        check=True,
        capture_output=True,
        timeout=600,
    )
    # The tests' temp dirs are 0700; the host's own accounts (nginx's www-data) must get in.
    root.chmod(0o755)
    (root / "usr/sbin/policy-rc.d").write_text(POLICY_RC_D)
    (root / "usr/sbin/policy-rc.d").chmod(0o755)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    # The root shares this machine's host name; the installer would have listed it (sudo asks).
    (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {socket.gethostname()}\n")
    archives = CACHE / "apt-archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    mounts: list[Path] = []
    try:
        _mount(["mount", "-t", "proc", "proc"], root / "proc", mounts)
        _mount(["mount", "--bind", str(archives)], root / "var/cache/apt/archives", mounts)
        client = directory / "client"
        client.mkdir()
        host_key, identity = root / "etc/ssh/test_host_key", client / "id_ed25519"
        _keygen(host_key)
        _keygen(identity)
        ssh_dir = root / "root/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        (ssh_dir / "authorized_keys").write_text(identity.with_suffix(".pub").read_text())
        port = free_port(address)
        (root / "etc/ssh/sshd_test_config").write_text(
            f"ListenAddress {address}:{port}\n"
            "HostKey /etc/ssh/test_host_key\n"
            "PidFile /run/sshd-test.pid\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "MaxStartups 50\n"
            "Subsystem sftp internal-sftp\n"
            "LogLevel ERROR\n"
        )
        (root / "run/sshd").mkdir(parents=True, exist_ok=True)
        ssh_config = write_client_config(client, identity, host_key)
        sshd = _start(
            "sshd",
            ["chroot", str(root), "/usr/sbin/sshd", "-D", "-e", "-f", "/etc/ssh/sshd_test_config"],
            directory / "sshd.log",
            [(address, port)],
        )
    except BaseException:
        _unmount(mounts)
        raise
    return DebianHost(root, address, port, identity, ssh_config, sshd, mounts)
