"""What Mozilla's guidelines ask of our TLS and response headers, for both renderers. Pure.

TLS follows Server Side TLS guideline 6.0 (https://ssl-config.mozilla.org/guidelines/6.0.json)
as the ssl-config generator renders it for nginx and haproxy.
"""

from __future__ import annotations

from plugins.settings.site import Version

GUIDELINE = "6.0"
# The intermediate profile's TLS 1.2 suites; 6.0 dropped the DHE ones (they needed a dhparam
# file, and every client that could use them also speaks ECDHE).
INTERMEDIATE_CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
# Both profiles. Left to OpenSSL, a server also accepts ffdhe2048-8192, X448 and secp521r1: a
# client picking ffdhe8192 costs haproxy ~120 ms of CPU per handshake against ~1 ms for X25519.
_CLASSIC_GROUPS = ("X25519", "prime256v1", "secp384r1")
# The hybrid post-quantum group, first where OpenSSL knows it (3.5 and newer).
_HYBRID_GROUP = "X25519MLKEM768"

HSTS = "max-age=63072000; includeSubDomains"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The search page and Pagefind's folder add one source: Pagefind compiles its WebAssembly
# (WebAssembly.instantiate), which 'self' does not allow. 'wasm-unsafe-eval' permits only
# that, not eval(). A dedicated worker takes the policy of its own script's response, so
# pagefind-worker.js needs it too. Every other page keeps the policy above.
SEARCH_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';"
)
# A static blog needs none of the powerful features; deny them to the page and to any frame.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


def nginx_openssl(nginx_version: Version) -> Version:
    """The OpenSSL an nginx branch runs with, as Debian pairs them: bookworm's 1.22 with 3.0,
    trixie's 1.26 (and anything newer) with 3.5."""
    return (3, 5, 0) if nginx_version >= (1, 26, 0) else (3, 0, 0)


def haproxy_openssl(haproxy_version: Version) -> Version:
    """The OpenSSL an haproxy branch runs with, as Debian pairs them: bookworm's 2.6 with 3.0,
    trixie's 3.0 (and anything newer) with 3.5."""
    return (3, 5, 0) if haproxy_version >= (3, 0, 0) else (3, 0, 0)


def key_exchange_groups(openssl: Version) -> str:
    """Mozilla's key-exchange groups that `openssl` knows, best first, `:`-separated."""
    groups = _CLASSIC_GROUPS if openssl < (3, 5, 0) else (_HYBRID_GROUP, *_CLASSIC_GROUPS)
    return ":".join(groups)
