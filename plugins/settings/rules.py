"""What each kind of setting value may look like: one rule per kind, for every family.

Used by the whole settings model (serverconfig, webperf and the deploy inventory alike).
Values are rejected, never escaped: nothing that passes can end a directive, open a block,
start a comment or expand a variable in nginx or haproxy (`;`, `{`, `}`, quotes, whitespace,
`#`, `$`, `\\`).
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath

from .errors import SettingsError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_FILE_PATH = re.compile(r"^/[A-Za-z0-9._/+@=-]*$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~/+,=@:!-]*$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_VERSION = re.compile(r"^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$")
_HTTPS_URL = re.compile(r"^https://([a-z0-9.-]+)(?::(\d{1,5}))?(/[A-Za-z0-9._~/+,=@:!-]*)?$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@([a-z0-9.-]+)$")


def hostname(where: str, value: object) -> str:
    """A DNS name (lowercase letters, digits, hyphens, dots) of at most 253 characters."""
    allowed = "a DNS hostname: lowercase letters, digits and hyphens in dot-separated labels"
    if not isinstance(value, str) or not value or len(value) > 253:
        raise SettingsError(where, value, allowed)
    if not all(_LABEL.fullmatch(label) for label in value.split(".")):
        raise SettingsError(where, value, allowed)
    return value


def _ip(value: object) -> str | None:
    """`value` as a canonical IP address, or None. IPv6 scope IDs (`fe80::1%eth0`) are not
    addresses here: Python accepts any text after the `%`, including `;` and newlines."""
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def address(where: str, value: object) -> str:
    """An IPv4 or IPv6 address, or a hostname; IPv6 is returned without brackets."""
    ip = _ip(value)
    if ip is not None:
        return ip
    try:
        return hostname(where, value)
    except SettingsError:
        raise SettingsError(where, value, "an IPv4 or IPv6 address or a hostname") from None


def ip_address(where: str, value: object) -> str:
    """An IPv4 or IPv6 address: what nginx `listen`s on, haproxy `bind`s to, and
    set_real_ip_from takes. A name would be resolved once at start, and fail the
    `nginx -t` / `haproxy -c` check wherever it does not resolve to a local address."""
    ip = _ip(value)
    if ip is None:
        raise SettingsError(where, value, "an IPv4 or IPv6 address")
    mapped = ipaddress.ip_address(ip).version == 6 and ipaddress.IPv6Address(ip).ipv4_mapped
    if mapped:
        # nginx cannot bind an IPv4-mapped address; the IPv4 form means the same host.
        raise SettingsError(where, value, f"the IPv4 address itself ({mapped})")
    return ip


def distinct_ports(where: str, bound: Mapping[str, tuple[str, int]]) -> None:
    """Refuse two listeners of `bound` ({setting: (address, port)}) on one address and port;
    the address "*" overlaps every address."""
    seen: dict[tuple[str, int], str] = {}
    for name, (address, number) in bound.items():
        for (other_address, other_port), other in seen.items():
            overlap = "*" in (address, other_address) or address == other_address
            if overlap and number == other_port:
                raise SettingsError(
                    name, number, f"a port no other {where} listener uses ({other} uses it)"
                )
        seen[(address, number)] = name


def https_url(where: str, value: object) -> str:
    """An https:// URL: a hostname, an optional port and path; no query, no credentials."""
    allowed = "an https:// URL: a host name, an optional port and path, nothing else"
    match = _HTTPS_URL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise SettingsError(where, value, allowed)
    try:
        hostname(where, match[1])
        if match[2] is not None:
            port(where, int(match[2]))
    except SettingsError:
        raise SettingsError(where, value, allowed) from None
    return value


def email(where: str, value: object) -> str:
    """A plain e-mail address (user@domain), as an ACME account's contact."""
    match = _EMAIL.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise SettingsError(where, value, "an e-mail address like ops@example.org")
    try:
        hostname(where, match[1])
    except SettingsError:
        raise SettingsError(where, value, "an e-mail address like ops@example.org") from None
    return value


def port(where: str, value: object) -> int:
    """A TCP port number, 1 to 65535."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise SettingsError(where, value, "an integer port from 1 to 65535")
    return value


def identifier(where: str, value: object) -> str:
    """A name haproxy and the file system both take as is: letters, digits, `_`, `-`."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise SettingsError(
            where, value, "1-63 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return value


def file_path(where: str, value: object, *, names: str = "a file") -> str:
    """An absolute, normalised file system path of safe characters.

    No `,`: haproxy splits a `stats socket` address list at commas.
    """
    allowed = f"an absolute path of letters, digits and . _ / + @ = - naming {names}"
    allowed += " (no '..' or '//')"
    if names == "a file":
        allowed += ", not ending in '/'"
    if not isinstance(value, str) or not _FILE_PATH.fullmatch(value) or len(value) > 1024:
        raise SettingsError(where, value, allowed)
    parts = value.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        raise SettingsError(where, value, allowed)
    return value


# haproxy refuses longer UNIX socket paths (sun_path is 108 bytes; it keeps room for a suffix).
SOCKET_PATH_MAX = 97


def socket_path(where: str, value: object) -> str:
    """Like `file_path`, for a UNIX socket: at most SOCKET_PATH_MAX bytes."""
    path = file_path(where, value, names="a UNIX socket")
    if len(path.encode()) > SOCKET_PATH_MAX:
        raise SettingsError(
            where, value, f"a UNIX socket path of at most {SOCKET_PATH_MAX} bytes (haproxy's limit)"
        )
    return path


def log_target(where: str, value: object) -> str:
    """Where haproxy sends its log: "stdout" (its own output), or a syslog UNIX socket."""
    return "stdout" if value == "stdout" else socket_path(where, value)


def folder_path(where: str, value: object) -> str:
    """Like `file_path`, for a folder: a trailing '/' is allowed and dropped."""
    if value == "/":
        return value
    if isinstance(value, str) and value.endswith("/"):
        value = value[:-1]
    return file_path(where, value, names="a folder")


def url_path(where: str, value: object) -> str:
    """A URL path as nginx matches it: absolute, decoded, normalised, no query string."""
    allowed = (
        "a URL path starting with '/', of letters, digits and . _ ~ / + , = @ : ! - "
        "(no '%', '?', '#', spaces, quotes, '..' or '//')"
    )
    if not isinstance(value, str) or not _URL_PATH.fullmatch(value) or len(value) > 1024:
        raise SettingsError(where, value, allowed)
    segments = value.split("/")[1:]
    # nginx normalises `//`, `/./` and `/../` before matching, so such a source never matches.
    if any(seg in (".", "..") for seg in segments) or "" in segments[:-1]:
        raise SettingsError(where, value, allowed)
    return value


_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def url_target(where: str, value: object) -> str:
    """A URL path a redirect sends browsers to: like `url_path`, and percent-escapes such as
    `%C3%A9` allowed (nginx writes a `return` target into Location as it is)."""
    if not isinstance(value, str):
        raise SettingsError(where, value, "a URL path starting with '/'")
    try:
        url_path(where, _PERCENT_ESCAPE.sub("_", value))
    except SettingsError as error:
        raise SettingsError(where, value, error.allowed + ", or %XX escapes") from None
    return value


def user_name(where: str, value: object) -> str:
    """A login name: letters, digits, `.`, `_`, `-`; 1 to 64 characters."""
    if not isinstance(value, str) or not _USER.fullmatch(value):
        raise SettingsError(where, value, "1-64 letters, digits, '.', '_' or '-'")
    return value


def word(where: str, value: object) -> str:
    """One bare word haproxy and nginx take without quoting (realms, zone names)."""
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise SettingsError(where, value, "one word of letters, digits, '.', '_' or '-'")
    return value


def version(where: str, value: object) -> tuple[int, int, int]:
    """A version like "1.22" or "1.9.5", returned as a comparable tuple."""
    match = _VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise SettingsError(where, value, 'a version string like "1.22" or "1.9.5"')
    return int(match[1]), int(match[2]), int(match[3] or 0)


def choice(where: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in allowed:
        raise SettingsError(where, value, "one of " + ", ".join(repr(a) for a in allowed))
    return value


def boolean(where: str, value: object) -> bool:
    """True or False, nothing truthy."""
    if not isinstance(value, bool):
        raise SettingsError(where, value, "True or False")
    return value


def integer(where: str, value: object, low: int, high: int) -> int:
    """An integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SettingsError(where, value, f"an integer from {low} to {high}")
    return value


def command(where: str, value: object) -> str:
    """A shell command line run by the deploy (never written into a config)."""
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\n\r\0"):
        raise SettingsError(where, value, "a one-line, non-empty command")
    return value


def password(where: str, value: object) -> str:
    """A password: printable, no line breaks (it is hashed, never written out)."""
    if not isinstance(value, str) or not value or not value.isprintable():
        raise SettingsError(where, value, "a non-empty printable string", secret=True)
    return value


def number(where: str, value: object, low: float, high: float) -> float:
    """A number above `low` and at most `high`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise SettingsError(where, value, f"a number above {low:g} and at most {high:g}")
    return float(value)


def seconds(where: str, value: object) -> float:
    """A positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise SettingsError(where, value, "a positive number of seconds")
    return float(value)


def strings(where: str, value: object) -> tuple[str, ...]:
    """A list of strings."""
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise SettingsError(where, value, "a list of strings")
    return tuple(value)


def relative_paths(where: str, value: object, inside: str) -> tuple[str, ...]:
    """A list of relative paths that stay inside the folder named `inside`."""
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
        raise SettingsError(where, value, f"a list of paths relative to {inside}")
    for item in value:
        if not item or PurePath(item).is_absolute() or ".." in PurePath(item).parts:
            raise SettingsError(where, value, f"paths inside {inside} ({item!r} is not)")
    return tuple(value)


def local_folder(where: str, value: object, base: Path, *, outside: Path) -> Path:
    """A folder on this machine (relative to `base`), never inside or equal to `outside`."""
    if not isinstance(value, str | PurePath) or not str(value):
        raise SettingsError(where, value, "a folder path")
    path = (base / value).resolve()
    outside = outside.resolve()
    if path == outside or outside in path.parents:
        raise SettingsError(where, str(value), f"a folder outside OUTPUT_PATH ({outside})")
    return path


def known_keys(where: str, given: Mapping[str, object], known: Iterable[str]) -> None:
    """Refuse a key of `given` that is not in `known`, naming the nearest known one: a typo is
    never silently ignored. `where` names the family ("a setting of webperf", "a key of
    BACKENDS[0]")."""
    known = sorted(known)
    for key in sorted(given):
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]}?" if near else "known: " + ", ".join(known)
            raise SettingsError(str(key), given[key], f"{where} ({hint})")
