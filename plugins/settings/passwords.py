"""SHA-512 crypt(3) hashes for haproxy's `userlist`, reproducible from build to build."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

_SALT_ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def deterministic_salt(user: str, password: str) -> str:
    """16 crypt salt characters derived from the user and password.

    A random salt would change haproxy.cfg on every build, and with it the manifest and the
    deploy's "config changed, reload" decision. Deriving the salt from both values keeps the
    output stable while still differing per user.
    """
    digest = hashlib.sha256(f"haproxy-stats\0{user}\0{password}".encode()).digest()
    return "".join(_SALT_ALPHABET[b % 64] for b in digest[:16])


def sha512_crypt(password: str, salt: str) -> str:
    """`$6$<salt>$<hash>` via `openssl passwd -6`; the password goes through stdin."""
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    result = subprocess.run(
        [openssl, "passwd", "-6", "-salt", salt, "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    hashed = result.stdout.strip()
    if not hashed.startswith(f"$6${salt}$"):
        raise RuntimeError(f"openssl passwd returned an unexpected hash format: {hashed[:8]}…")
    return hashed
