"""Injection: arbitrary strings in every setting and metadata value that reaches a config.

Each value is either refused with a one-line SettingsError naming the setting (or the
post), or the rendered config passes the real `nginx -t` and `haproxy -c` and has exactly the
directives the same config has with an ordinary value: same directives, same nesting, same
number of arguments (crossplane for nginx; a tokenizer that splits lines, words, quotes and
comments the way haproxy does). Settings → model → render runs in-process; only accepted
values start a binary. The binaries run in a network namespace of the test's own with every
address the config names on its loopback (tests/support/netns.py), so `nginx -t` binds every
listener for real and any bind error is the config's fault. Values go up to the lengths the
formats allow (253-character host names, 1024-character paths), through the backend, tcp,
standalone, www-redirect and UNIX-socket variants; a second property draws ports and
addresses of several settings at once from small pools, so they collide. A stats password's
stored hash must verify against the password (crypt(3), as haproxy checks it).
Each backend's vhost is checked in an nginx of its own, as each backend runs one.

The pagespeed include cannot be `nginx -t`-checked (Debian has no ngx_pagespeed): its two
values get the directive comparison only, with the include, and haproxy -c.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import itertools
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crossplane
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.settings import redirects
from plugins.settings.errors import SettingsError
from plugins.settings.redirects import Redirect
from plugins.settings.site import Site, site_from_settings
from tests.support import netns, servers
from tests.support.serverconfig import (
    STATS_PASSWORD,
    STATS_USER,
    local_settings,
    render,
    write_files,
)

pytestmark = pytest.mark.servers

POST_SOURCE = "content/2013-07-19-haproxy-stats.rst"
POST_URL = "2013/07/19/haproxy-stats/"

# What ends a directive, opens a block, quotes, comments, expands or ends a line in nginx or
# haproxy, plus characters that case-fold or look like ASCII, and line breaks Python knows of.
NASTY = [
    *";{}\"'\n\r\t $#\\\x00%@:/.,-_=+!~`|&*()[]<>?^",
    *["é", "İ", "\u212a", "\u2028", "\x85", "\x0b", "\xa0", "\ufeff", "\uff10", "\U0001f600"],
]
CHARACTERS = st.one_of(st.sampled_from(NASTY), st.characters(codec="utf-8"))
ARBITRARY = st.text(CHARACTERS, max_size=40)


def _mutations(valid: list[str]) -> st.SearchStrategy[str]:
    """A valid value with a few arbitrary characters put in, replacing some or none."""

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        value = draw(st.sampled_from(valid))
        start = draw(st.integers(0, len(value)))
        end = draw(st.integers(start, len(value)))
        return value[:start] + draw(st.text(CHARACTERS, min_size=1, max_size=6)) + value[end:]

    return mutate()


@dataclass(frozen=True)
class Env:
    """Module-wide settings whose paths and ports are real on this machine."""

    tmp: Path
    pem: Path
    settings: dict[str, Any]
    output: Path
    counter: itertools.count

    def fresh_dir(self) -> str:
        path = self.tmp / "files" / str(next(self.counter))
        path.mkdir(parents=True)
        return str(path)


Apply = Callable[[str, Env], tuple[dict[str, Any], list[Redirect]]]


@dataclass(frozen=True)
class Slot:
    """One place a user-written string reaches the config."""

    label: str  # what the error message must name
    apply: Apply  # value → settings overrides and the redirects it makes
    samples: list[str]  # valid values; samples[0] renders the baseline
    variants: tuple[str, ...] = ("http", "tcp", "standalone", "www", "sockets")
    # A path nginx or haproxy opens while checking: the value is appended to a fresh temp
    # dir (so that an accepted one can exist), and the file is created if accepted.
    opened: bool = False
    # A UNIX socket nginx binds while checking: appended to a fresh temp dir like `opened`.
    bound: bool = False
    pagespeed: bool = False
    pattern: str | None = None  # a regex of near-valid values
    long: st.SearchStrategy[str] | None = None  # valid values up to the format's length

    def values(self) -> st.SearchStrategy[str]:
        choices = [st.sampled_from(self.samples), _mutations(self.samples), ARBITRARY]
        if self.pattern is not None:
            choices.append(st.from_regex(self.pattern, fullmatch=True))
        if self.long is not None:
            choices.append(self.long)
        return st.one_of(choices)


def _set(key: str) -> Apply:
    return lambda value, env: ({key: value}, [])


def _backend(field: str) -> Apply:
    def apply(value: str, env: Env) -> tuple[dict[str, Any], list[Redirect]]:
        first, second = env.settings["BACKENDS"]
        return {"BACKENDS": [{**first, field: value}, second]}, []

    return apply


def _h2_socket(value: str, env: Env) -> tuple[dict[str, Any], list[Redirect]]:
    first, second = env.settings["BACKENDS"]
    sockets = {"socket": str(env.tmp / "web1.sock"), "h2_socket": value}
    return {"BACKENDS": [{**first, **sockets}, second]}, []


def _balancer(field: str) -> Apply:
    return lambda value, env: ({"BALANCER": {**env.settings["BALANCER"], field: value}}, [])


def _redirect_key(value: str, env: Env) -> tuple[dict[str, Any], list[Redirect]]:
    return {}, redirects.from_setting({value: "/new/"})


def _redirect_value(value: str, env: Env) -> tuple[dict[str, Any], list[Redirect]]:
    return {}, redirects.from_setting({"/old/": value})


def _redirect_from(value: str, env: Env) -> tuple[dict[str, Any], list[Redirect]]:
    return {}, redirects.from_metadata(POST_SOURCE, POST_URL, value)


def _slug(value: str, env: Env) -> tuple[dict[str, Any], list[Redirect]]:
    # A post's URL comes from its `:slug:`, which Pelican takes verbatim.
    return {}, redirects.from_metadata(POST_SOURCE, f"2013/07/19/{value}/", "/old/")


# The longest name DNS allows: 253 characters, labels of at most 63.
LONGEST_HOST = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
HOSTS = ["blog.example.net", "a", "x-1.example", "xn--bcher-kva.example", LONGEST_HOST]
ADDRESSES = ["127.0.0.5", "10.0.0.1", "::1", "2001:db8::7", "0.0.0.0"]
FILE_PATHS = ["/srv/blog", "/a", "/var/www/a_b/c.d", "/x+y/@z=1"]
URL_PATHS = ["/old-about/", "/a", "/2013/07/x.html", "/~me/a:b!c@d=e,f+g"]
WORDS = ["web1", "w", "a-b_c", "Z9"]
PATH_PATTERN = r"/[A-Za-z0-9._~/+,=@:!%?-]{0,20}"
_LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=63)
LONG_HOSTS = st.lists(_LABEL, min_size=1, max_size=5).map(".".join).filter(lambda h: len(h) <= 253)
_SEGMENT = st.text("abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=255)
LONG_PATHS = st.lists(_SEGMENT, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts))

SLOTS: dict[str, Slot] = {
    "siteurl-host": Slot(
        "SITEURL",
        lambda value, env: ({"SITEURL": f"https://{value}"}, []),
        ["blog.example.org", "blog.example.org:8443", *HOSTS],
        pattern=r"[a-zA-Z0-9.:@-]{1,30}",
        long=LONG_HOSTS,
    ),
    "siteurl-path": Slot(
        "SITEURL",
        lambda value, env: ({"SITEURL": f"https://blog.example.org{value}"}, []),
        ["/", "", "/blog/", ":8443/blog"],
        pattern=PATH_PATTERN,
    ),
    "server-alias": Slot(
        "NGINX_SERVER_ALIASES[0]",
        lambda value, env: ({"NGINX_SERVER_ALIASES": [value]}, []),
        HOSTS,
        pattern=r"[a-zA-Z0-9.-]{1,30}",
        long=LONG_HOSTS,
    ),
    "backend-name": Slot("BACKENDS[0]", _backend("name"), WORDS, pattern=r"[\w.-]{1,10}"),
    "backend-address": Slot(
        "BACKENDS[0]['address']", _backend("address"), ADDRESSES, pattern=r"[0-9a-f.:%]{1,20}"
    ),
    "backend-root": Slot(
        "BACKENDS[0]['root']",
        _backend("root"),
        FILE_PATHS,
        pattern=PATH_PATTERN,
        long=LONG_PATHS,
    ),
    "backend-socket": Slot(
        "BACKENDS[0]['socket']",
        _backend("socket"),
        ["/web1.sock", "/a/b.sock"],
        variants=("http",),
        bound=True,
        pattern=PATH_PATTERN,
    ),
    "backend-h2-socket": Slot(
        "BACKENDS[0]['h2_socket']",
        _h2_socket,
        ["/web1-h2.sock"],
        variants=("tcp",),
        bound=True,
        pattern=PATH_PATTERN,
    ),
    "balancer-address": Slot(
        "BALANCER['address']", _balancer("address"), ADDRESSES, pattern=r"[0-9a-f.:%]{1,20}"
    ),
    "runtime-socket": Slot(
        "BALANCER['runtime_socket']",
        _balancer("runtime_socket"),
        ["/run/haproxy/admin.sock", *FILE_PATHS],
        pattern=PATH_PATTERN,
    ),
    "tls-certificate": Slot(
        "NGINX_TLS_CERTIFICATE",
        _set("NGINX_TLS_CERTIFICATE"),
        ["/site.pem", "/a/b.pem"],
        variants=("standalone",),
        opened=True,
    ),
    "tls-certificate-key": Slot(
        "NGINX_TLS_CERTIFICATE_KEY",
        _set("NGINX_TLS_CERTIFICATE_KEY"),
        ["/key.pem"],
        variants=("standalone",),
        opened=True,
    ),
    "tls-trusted-certificate": Slot(
        "NGINX_TLS_TRUSTED_CERTIFICATE",
        _set("NGINX_TLS_TRUSTED_CERTIFICATE"),
        ["/chain.pem"],
        variants=("standalone",),
        opened=True,
    ),
    "acme-root": Slot(
        "NGINX_ACME_ROOT",
        _set("NGINX_ACME_ROOT"),
        FILE_PATHS,
        pattern=PATH_PATTERN,
        long=LONG_PATHS,
    ),
    "pagespeed-cache": Slot(
        "NGINX_PAGESPEED_FILE_CACHE_PATH",
        _set("NGINX_PAGESPEED_FILE_CACHE_PATH"),
        FILE_PATHS,
        pagespeed=True,
    ),
    "pagespeed-filter": Slot(
        "NGINX_PAGESPEED_FILTERS[0]",
        lambda value, env: ({"NGINX_PAGESPEED_FILTERS": [value, "remove_comments"]}, []),
        ["combine_css", "a.b"],
        pagespeed=True,
    ),
    "haproxy-bind": Slot(
        "HAPROXY_BIND_ADDRESS", _set("HAPROXY_BIND_ADDRESS"), ["127.0.0.1", "*", "::1"]
    ),
    "haproxy-pem": Slot(
        "HAPROXY_TLS_PEM", _set("HAPROXY_TLS_PEM"), ["/blog.pem"], variants=("http",), opened=True
    ),
    "stats-address": Slot(
        "HAPROXY_STATS_ADDRESS", _set("HAPROXY_STATS_ADDRESS"), ["127.0.0.1", "::1", "10.1.2.3"]
    ),
    "stats-uri": Slot(
        "HAPROXY_STATS_URI", _set("HAPROXY_STATS_URI"), URL_PATHS, pattern=PATH_PATTERN
    ),
    "stats-realm": Slot(
        "HAPROXY_STATS_REALM", _set("HAPROXY_STATS_REALM"), ["haproxy-stats", *WORDS]
    ),
    "stats-user": Slot(
        "HAPROXY_STATS_USER", _set("HAPROXY_STATS_USER"), [STATS_USER, *WORDS, "a.b"]
    ),
    "stats-password": Slot(
        "HAPROXY_STATS_PASSWORD",
        _set("HAPROXY_STATS_PASSWORD"),
        [STATS_PASSWORD, "a long password; with {all} sorts of $things"],
        long=st.text(st.characters(codec="utf-8"), min_size=12, max_size=400),
    ),
    "redirect-source": Slot(
        "NGINX_REDIRECTS", _redirect_key, URL_PATHS, pattern=PATH_PATTERN, long=LONG_PATHS
    ),
    "redirect-target": Slot(
        "NGINX_REDIRECTS", _redirect_value, URL_PATHS, pattern=PATH_PATTERN, long=LONG_PATHS
    ),
    "redirect-from": Slot(
        POST_SOURCE,
        _redirect_from,
        ["/2013/07/haproxy-stats/", "/a, /b/,/c.html", " /x/ ,", *URL_PATHS[:3]],
        pattern=r"[A-Za-z0-9/ ,.%-]{0,30}",
    ),
    "post-slug": Slot(
        POST_SOURCE, _slug, ["haproxy-stats", "a", "x.y_z"], pattern=r"[\w.%-]{0,12}"
    ),
}

VARIANTS: dict[str, dict[str, Any]] = {
    "http": {},
    "tcp": {"HAPROXY_TOPOLOGY": "tcp"},
    "standalone": {"NGINX_ROLE": "standalone", "NGINX_TLS_TRUSTED_CERTIFICATE": "PEM"},
    "www": {"HAPROXY_TOPOLOGY": "tcp", "NGINX_WWW_REDIRECT": "to-www"},
    # Backends on the balancer's machine, reached over UNIX sockets (build() adds them).
    "sockets": {"HAPROXY_TOPOLOGY": "tcp"},
}
SOCKET_VARIANTS = ("sockets",)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("injection")
    pem = servers.self_signed_pem(tmp / "tls", ["blog.example.org"])
    settings = local_settings(
        tmp,
        pem,
        SITEURL="https://blog.example.org",
        RELEASE_ID="injection",
        HAPROXY_STATS_USER=STATS_USER,
        HAPROXY_STATS_PASSWORD=STATS_PASSWORD,
    )
    (tmp / "output").mkdir()
    yield Env(tmp, pem, settings, tmp / "output", itertools.count())
    print(f"\nvalues through the real binaries: {sum(RAN.values())} {dict(RAN)}")


def build(slot: Slot, variant: str, value: str, env: Env) -> Site:
    """Settings → model with `value` in `slot`; raises SettingsError when refused."""
    extra = {k: str(env.pem) if v == "PEM" else v for k, v in VARIANTS[variant].items()}
    if slot.pagespeed:
        extra["NGINX_PAGESPEED"] = True
    overrides, found = slot.apply(value, env)
    settings = {**env.settings, **extra, **overrides}
    if variant in SOCKET_VARIANTS:
        settings["BACKENDS"] = [
            _with_sockets(b, i, env) for i, b in enumerate(settings["BACKENDS"])
        ]
    site = site_from_settings(settings)
    return dataclasses.replace(site, redirects=redirects.merge(found, env.output))


def _with_sockets(backend: Any, index: int, env: Env) -> Any:
    """A BACKENDS entry with both sockets under the module's temp dir, unless it has its own."""
    if not isinstance(backend, dict) or "socket" in backend:
        return backend
    sockets = {"socket": f"{env.tmp}/b{index}.sock", "h2_socket": f"{env.tmp}/b{index}-h2.sock"}
    return {**backend, **sockets}


# --- what a config contains, directive by directive ------------------------------------------


def nginx_shape(path: Path) -> list[Any]:
    """(directive, number of args, block) for every directive, as crossplane parses nginx."""
    parsed = crossplane.parse(str(path), single=True, check_ctx=False, comments=False)
    assert parsed["status"] == "ok", parsed["errors"]

    def shape(block: list[dict[str, Any]]) -> list[Any]:
        return [(d["directive"], len(d["args"]), shape(d.get("block", []))) for d in block]

    return shape(parsed["config"][0]["parsed"])


def haproxy_words(line: str) -> list[str]:
    """One config line split as haproxy does: blanks separate, quotes group, `\\` escapes,
    `#` starts a comment."""
    words: list[str] = []
    word: str | None = None
    quote = ""
    chars = iter(line)
    for char in chars:
        if char == "\\":
            word = (word or "") + char + next(chars, "")
        elif quote:
            if char == quote:
                quote = ""
            else:
                word = (word or "") + char
        elif char in "\"'":
            quote, word = char, word or ""
        elif char == "#":
            break
        elif char in " \t\r":
            if word is not None:
                words.append(word)
            word = None
        else:
            word = (word or "") + char
    if word is not None:
        words.append(word)
    return words


def haproxy_shape(text: str) -> list[Any]:
    """(section keyword, [(keyword, number of words) per line]) for every section."""
    sections: list[Any] = []
    for line in text.split("\n"):  # haproxy ends lines at LF only, unlike str.splitlines
        words = haproxy_words(line)
        if not words:
            continue
        if line[:1] not in " \t":
            sections.append((words[0], len(words), []))
        else:
            sections[-1][2].append((words[0], len(words)))
    return sections


def shapes(site: Site, root: Path) -> dict[str, Any]:
    """Every rendered file's directive structure, by file (backends by position, since a
    backend's name is in its path); the files are left under `root`."""
    files = render(site)
    write_files(root, files)
    result = {}
    for relative, text in files.items():
        assert "\x00" not in text, relative
        key = relative
        for index, backend in enumerate(site.backends):
            key = key.replace(f"nginx/{backend.name}/", f"nginx/#{index}/")
        if relative.startswith("haproxy/"):
            result[key] = haproxy_shape(text)
        else:
            # The one directive a value's length adds (a long server name needs a bigger
            # hash bucket); its argument is a number the renderer computes.
            shape = nginx_shape(root / relative)
            result[key] = [d for d in shape if d[0] != "server_names_hash_bucket_size"]
    return result


_baselines: dict[tuple[str, str, int], dict[str, Any]] = {}


def baseline(
    name: str, variant: str, redirect_count: int, stats_tls: bool, env: Env
) -> dict[str, Any]:
    """The shape with the slot's ordinary value (as many redirects as the value made, and a
    stats page served over TLS when the value put it off loopback)."""
    key = (name, variant, redirect_count, stats_tls)
    if key not in _baselines:
        slot = SLOTS[name]
        value = (env.fresh_dir() + "/f" if slot.opened or slot.bound else "") + slot.samples[0]
        if slot.opened or slot.bound:
            Path(value).parent.mkdir(parents=True, exist_ok=True)
        if slot.opened:
            shutil.copy(env.pem, value)
        site = build(slot, variant, value, env)
        extra = tuple(Redirect(f"/moved{i}/", "/new/", "baseline") for i in range(redirect_count))
        site = dataclasses.replace(site, redirects=extra)
        stats = site.haproxy.stats
        if stats is not None and stats_tls and not stats.tls:
            remote = dataclasses.replace(stats, address="192.0.2.1")
            site = dataclasses.replace(
                site, haproxy=dataclasses.replace(site.haproxy, stats=remote)
            )
        _baselines[key] = shapes(site, Path(env.fresh_dir()))
    return _baselines[key]


def check(name: str, variant: str, value: object, env: Env) -> None:
    """The property: refused naming the setting, or harmless to nginx and haproxy."""
    slot = SLOTS[name]
    if (slot.opened or slot.bound) and isinstance(value, str):
        value = env.fresh_dir() + "/f" + value
    try:
        site = build(slot, variant, value, env)
    except SettingsError as error:
        message = str(error)
        # A value may also be refused for how it meets the variant's settings.
        assert any(label in message for label in (slot.label, *VARIANTS[variant])), message
        assert "\n" not in message, message
        return
    if name == "server-alias" and site.nginx.aliases[0] == site.host:
        return  # an alias equal to the site's own name is dropped, not injected
    if slot.opened or slot.bound:
        assert isinstance(value, str), f"{name} accepted {value!r}"
        # An accepted path must be able to name the file nginx or haproxy reads or binds.
        Path(value).parent.mkdir(parents=True, exist_ok=True)
    if slot.opened:
        shutil.copy(env.pem, value)
    root = Path(env.fresh_dir())
    got = shapes(site, root)
    stats_tls = site.haproxy.stats is not None and site.haproxy.stats.tls
    expected = baseline(name, variant, len(site.redirects), stats_tls, env)
    assert got == expected, f"{name}={value!r} changed the directives"
    if name == "stats-password":
        # Only its hash goes in. A password that is also ordinary config text (say
        # "haproxy-stat") may appear, but no more often than with another password.
        text = "".join(render(site).values())
        other = "".join(render(build(slot, variant, slot.samples[0], env)).values())
        assert text.count(value) == other.count(value)
        stored = site.haproxy.stats.password_hash
        assert crypt(value, stored) == stored, f"the stored hash does not match {value!r}"
    through_binaries(site, root, f"{name}={value!r}", nginx_too=not slot.pagespeed)
    shutil.rmtree(root)


def crypt(password: str, setting: str) -> str:
    """crypt(3) from libcrypt, the function haproxy checks a userlist password with."""
    library = ctypes.CDLL("libcrypt.so.1")
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    return library.crypt(password.encode(), setting.encode()).decode()


# Values that ran through the binaries, by what checked them.
RAN: collections.Counter[str] = collections.Counter()


def _overlap(one: str, other: str) -> bool:
    wildcards = {"*", "0.0.0.0", "::"}
    return one == other or one in wildcards or other in wildcards


def haproxy_bind_clash(site: Site) -> str | None:
    """Two haproxy listeners on one address and port: haproxy -c and even a start accept it
    (SO_REUSEPORT), then the kernel spreads connections between them."""
    binds = [
        ("HAPROXY_HTTP_PORT", site.haproxy.bind_address, site.haproxy.http_port),
        ("HAPROXY_HTTPS_PORT", site.haproxy.bind_address, site.haproxy.https_port),
    ]
    if site.haproxy.stats is not None:
        binds.append(("HAPROXY_STATS_PORT", site.haproxy.stats.address, site.haproxy.stats.port))
    for (name, address, port), (other, other_address, other_port) in itertools.combinations(
        binds, 2
    ):
        if port == other_port and _overlap(address, other_address):
            return f"{name} and {other} share {address}:{port}"
    return None


def through_binaries(site: Site, root: Path, what: str, *, nginx_too: bool = True) -> None:
    """nginx -t (binding every listener) and haproxy -c on the files under `root`, in a network
    namespace that has every address the config names."""
    clash = haproxy_bind_clash(site)
    assert clash is None, f"{what}: {clash}"
    addresses = [b.address for b in site.backends] + [site.haproxy.bind_address]
    if site.haproxy.stats is not None:
        addresses.append(site.haproxy.stats.address)
    prefix = netns.prefix(a for a in addresses if a != "*")
    for vhost in sorted(root.glob("nginx/*/site.conf")) if nginx_too else []:
        main = root / "nginx-main" / vhost.parent.name
        conf = servers.write_nginx_main_conf(main, [vhost])
        tested = servers.nginx_test(conf, main, nginx=[*prefix, servers.NGINX])
        assert tested.returncode == 0, f"{what}: nginx -t {vhost.parent.name}: {tested.stderr}"
    checked = servers.haproxy_check(
        [root / "haproxy" / "haproxy.cfg"], haproxy=[*prefix, servers.HAPROXY]
    )
    assert checked.returncode == 0, f"{what}: haproxy -c: {checked.stdout}{checked.stderr}"
    RAN["nginx -t and haproxy -c" if nginx_too else "haproxy -c"] += 1


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SLOTS))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_arbitrary_value_is_refused_or_harmless(name, env, data):
    slot = SLOTS[name]
    variant = data.draw(st.sampled_from(slot.variants), label="variant")
    check(name, variant, data.draw(slot.values(), label="value"), env)


# What a settings file may hold instead of a string (None is left out: it means "unset").
NON_STRINGS = st.one_of(st.integers(), st.floats(), st.booleans(), st.binary(max_size=8))


@pytest.mark.parametrize("name", sorted(SLOTS))
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_non_string_value_is_refused_or_harmless(name, env, data):
    slot = SLOTS[name]
    variant = data.draw(st.sampled_from(slot.variants), label="variant")
    check(name, variant, data.draw(NON_STRINGS, label="value"), env)


# Each character that could end a directive or a line, alone, after and inside a valid value.
EXPLICIT = [";", "{", "}", '"', "'", "\n", "\r", "$", "#", " ", "\\", "\x00", "%", "é", "\u2028"]


@pytest.mark.parametrize("name", sorted(SLOTS))
def test_directive_characters_are_refused_or_harmless(name, env):
    # Hypothesis covers the variants; the first one is enough for this fixed list.
    slot = SLOTS[name]
    for char in EXPLICIT:
        values = {char, char + slot.samples[0], *(sample + char + "x;" for sample in slot.samples)}
        for value in sorted(values):
            check(name, slot.variants[0], value, env)


def test_a_password_that_is_also_config_text_passes(env):
    # Hypothesis found "haproxy-stat": inside the realm "haproxy-stats", and no leak.
    slot = SLOTS["stats-password"]
    check("stats-password", slot.variants[0], "haproxy-stat", env)


@pytest.mark.parametrize("name", sorted(SLOTS))
def test_every_sample_is_accepted(name, env):
    # The property is only worth something if valid values get through to the binaries.
    slot = SLOTS[name]
    for sample in slot.samples:
        value = (env.fresh_dir() + "/f" if slot.opened else "") + sample
        if slot.opened:
            Path(value).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(env.pem, value)
        build(slot, slot.variants[0], value, env)


# Small pools, so that ports and addresses of different settings often coincide.
PORT_POOL = st.sampled_from([80, 443, 8080, 8443])
ADDRESS_POOL = st.sampled_from(
    ["127.0.0.2", "127.0.0.3", "10.0.0.11", "0.0.0.0", "::1", "2001:db8::7", "::ffff:10.0.0.11"]
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_ports_and_addresses_across_settings_are_refused_or_work(env, data):
    variant = data.draw(st.sampled_from(sorted(VARIANTS)), label="variant")
    extra = {k: str(env.pem) if v == "PEM" else v for k, v in VARIANTS[variant].items()}
    backends = [
        {
            **backend,
            "address": data.draw(ADDRESS_POOL, label=f"BACKENDS[{i}]['address']"),
            "port": data.draw(PORT_POOL, label=f"BACKENDS[{i}]['port']"),
            "h2_port": data.draw(PORT_POOL, label=f"BACKENDS[{i}]['h2_port']"),
        }
        for i, backend in enumerate(env.settings["BACKENDS"])
    ]
    if variant in SOCKET_VARIANTS:
        backends = [_with_sockets(b, i, env) for i, b in enumerate(backends)]
    crossed = {
        key: data.draw(PORT_POOL, label=key)
        for key in ("HAPROXY_HTTP_PORT", "HAPROXY_HTTPS_PORT", "HAPROXY_STATS_PORT")
    } | {
        "NGINX_HTTPS_PORT": data.draw(PORT_POOL, label="NGINX_HTTPS_PORT"),
        "HAPROXY_BIND_ADDRESS": data.draw(
            st.one_of(st.just("*"), ADDRESS_POOL), label="HAPROXY_BIND_ADDRESS"
        ),
        "HAPROXY_STATS_ADDRESS": data.draw(ADDRESS_POOL, label="HAPROXY_STATS_ADDRESS"),
        "BACKENDS": backends,
    }
    try:
        site = site_from_settings({**env.settings, **extra, **crossed})
    except SettingsError as error:
        message = str(error)
        assert any(key in message for key in (*crossed, *extra)), message
        assert "\n" not in message, message
        return
    root = Path(env.fresh_dir())
    write_files(root, render(site))
    through_binaries(site, root, f"{variant} {crossed}")
    shutil.rmtree(root)


def test_haproxy_words_split_like_haproxy():
    assert haproxy_words('a "b c"  d\\ e\tf#g h') == ["a", "b c", "d\\ e", "f"]
    assert haproxy_words("a 'b#c' ''") == ["a", "b#c", ""]


def test_the_comparison_sees_an_injected_directive(env, tmp_path):
    site = build(SLOTS["backend-name"], "http", "web1", env)
    clean = shapes(site, tmp_path / "clean")
    vhost = tmp_path / "clean" / "nginx" / "web1" / "site.conf"
    vhost.write_text(
        vhost.read_text().replace("index index.html;", "index index.html; autoindex on;")
    )
    assert nginx_shape(vhost) != clean["nginx/#0/site.conf"]
    text = render(site)["haproxy/haproxy.cfg"]
    for injected in ("server web1 x", "server web1 #", 'server "web1" "x"', "server web1\n    x"):
        changed = text.replace("server web1", injected, 1)
        assert haproxy_shape(changed) != clean["haproxy/haproxy.cfg"], injected
