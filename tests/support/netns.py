"""Run a program in a network namespace of its own, with the addresses it needs on loopback.

`nginx -t` binds every listener it is given. On the host, an address the machine does not
have fails there (and a port someone else holds), so a check there cannot tell a broken config
from a foreign address. In a fresh namespace every address the config names is ours and every
port is free: a bind error is the config's own fault.

API:
- `prefix(addresses) -> list[str]`: an argv prefix (`unshare --net …`) that brings up `lo`
  with each of `addresses` on it (IPv4 as /32, IPv6 as /128), then execs the rest of the argv.
  The namespace ends with the program; nothing on the host changes.
"""

from __future__ import annotations

import ipaddress
import shlex
import shutil
from collections.abc import Iterable

UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
IP = shutil.which("ip") or "/usr/sbin/ip"


def prefix(addresses: Iterable[str]) -> list[str]:
    """`unshare --net sh -c 'lo up; add addresses; exec "$@"' sh`; append the program's argv."""
    steps = [shlex.join([IP, "link", "set", "lo", "up"])]
    for address in sorted(set(addresses)):
        parsed = ipaddress.ip_address(address)
        if parsed.is_unspecified or parsed.is_loopback:
            continue
        family = "-6" if parsed.version == 6 else "-4"
        length = 128 if parsed.version == 6 else 32
        extra = ["nodad"] if parsed.version == 6 else []
        steps.append(
            shlex.join([IP, family, "addr", "add", f"{address}/{length}", "dev", "lo", *extra])
        )
    script = " && ".join([*steps, 'exec "$@"'])
    return [UNSHARE, "--net", "--", "sh", "-c", script, "sh"]
