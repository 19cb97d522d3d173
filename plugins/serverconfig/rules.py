"""What a hostname, a path, a port or an identifier may look like in generated config.

Each kind of value has exactly one rule, here. Values are rejected, never escaped: nothing
that passes can end a directive, open a block, start a comment or expand a variable in
nginx or haproxy (`;`, `{`, `}`, quotes, whitespace, `#`, `$`, `\\`).
"""

from __future__ import annotations

import ipaddress
import re

from .errors import ServerConfigError

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_FILE_PATH = re.compile(r"^/[A-Za-z0-9._/+@=-]*$")
_URL_PATH = re.compile(r"^/[A-Za-z0-9._~/+,=@:!-]*$")
_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
_VERSION = re.compile(r"^(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?$")


def hostname(where: str, value: object) -> str:
    """A DNS name (lowercase letters, digits, hyphens, dots) of at most 253 characters."""
    allowed = "a DNS hostname: lowercase letters, digits and hyphens in dot-separated labels"
    if not isinstance(value, str) or not value or len(value) > 253:
        raise ServerConfigError(where, value, allowed)
    if not all(_LABEL.fullmatch(label) for label in value.split(".")):
        raise ServerConfigError(where, value, allowed)
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
    except ServerConfigError:
        raise ServerConfigError(where, value, "an IPv4 or IPv6 address or a hostname") from None


def ip_address(where: str, value: object) -> str:
    """An IPv4 or IPv6 address: what nginx `listen`s on, haproxy `bind`s to, and
    set_real_ip_from takes. A name would be resolved once at start, and fail the
    `nginx -t` / `haproxy -c` check wherever it does not resolve to a local address."""
    ip = _ip(value)
    if ip is None:
        raise ServerConfigError(where, value, "an IPv4 or IPv6 address")
    return ip


def port(where: str, value: object) -> int:
    """A TCP port number, 1 to 65535."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ServerConfigError(where, value, "an integer port from 1 to 65535")
    return value


def identifier(where: str, value: object) -> str:
    """A name haproxy and the file system both take as is: letters, digits, `_`, `-`."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ServerConfigError(
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
        raise ServerConfigError(where, value, allowed)
    parts = value.split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        raise ServerConfigError(where, value, allowed)
    return value


# haproxy refuses longer UNIX socket paths (sun_path is 108 bytes; it keeps room for a suffix).
SOCKET_PATH_MAX = 97


def socket_path(where: str, value: object) -> str:
    """Like `file_path`, for a UNIX socket: at most SOCKET_PATH_MAX bytes."""
    path = file_path(where, value, names="a UNIX socket")
    if len(path.encode()) > SOCKET_PATH_MAX:
        raise ServerConfigError(
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
        raise ServerConfigError(where, value, allowed)
    segments = value.split("/")[1:]
    # nginx normalises `//`, `/./` and `/../` before matching, so such a source never matches.
    if any(seg in (".", "..") for seg in segments) or "" in segments[:-1]:
        raise ServerConfigError(where, value, allowed)
    return value


def user_name(where: str, value: object) -> str:
    """A login name: letters, digits, `.`, `_`, `-`; 1 to 64 characters."""
    if not isinstance(value, str) or not _USER.fullmatch(value):
        raise ServerConfigError(where, value, "1-64 letters, digits, '.', '_' or '-'")
    return value


def word(where: str, value: object) -> str:
    """One bare word haproxy and nginx take without quoting (realms, zone names)."""
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        raise ServerConfigError(where, value, "one word of letters, digits, '.', '_' or '-'")
    return value


def version(where: str, value: object) -> tuple[int, int, int]:
    """A version like "1.22" or "1.9.5", returned as a comparable tuple."""
    match = _VERSION.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ServerConfigError(where, value, 'a version string like "1.22" or "1.9.5"')
    return int(match[1]), int(match[2]), int(match[3] or 0)


def choice(where: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of a fixed set of strings."""
    if not isinstance(value, str) or value not in allowed:
        raise ServerConfigError(where, value, "one of " + ", ".join(repr(a) for a in allowed))
    return value


def boolean(where: str, value: object) -> bool:
    """True or False, nothing truthy."""
    if not isinstance(value, bool):
        raise ServerConfigError(where, value, "True or False")
    return value


def integer(where: str, value: object, low: int, high: int) -> int:
    """An integer within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServerConfigError(where, value, f"an integer from {low} to {high}")
    return value


def command(where: str, value: object) -> str:
    """A shell command line run by the deploy (never written into a config)."""
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\n\r\0"):
        raise ServerConfigError(where, value, "a one-line, non-empty command")
    return value


def password(where: str, value: object) -> str:
    """A password: printable, no line breaks (it is hashed, never written out)."""
    if not isinstance(value, str) or not value or not value.isprintable():
        raise ServerConfigError(where, "<hidden>", "a non-empty printable string")
    return value
