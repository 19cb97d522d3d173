"""A test ACME CA on loopback: Debian's `pebble`, with `pebble-challtestsrv` as its DNS.

`start_pebble(directory, answer)` starts both, stopped by PID with `Pebble.stop()`:
- challtestsrv answers every A query with `answer` (the test host's loopback address) and
  no AAAA; `answer_for(host, address)` overrides one name (a challenge that cannot be
  reached), `clear(host)` removes the override;
- pebble serves its ACME API over HTTPS on 127.0.0.1 with a certificate for `localhost`
  (`api_cert`: what certbot must trust; `api_key`: its key), validates HTTP-01 on
  `http_port` (haproxy's port 80 in the tests), never sleeps, never rejects a nonce and
  never reuses an authorization (so a challenge is really asked for every order);
- `root()` is the root certificate pebble issues under (new on every start).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import Process, _start, free_port, stop

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"


@dataclass
class Pebble:
    """A running pebble and its DNS."""

    api_port: int
    management_port: int
    dns_management_port: int
    api_cert: Path
    api_key: Path
    pebble: Process
    dns: Process

    @property
    def directory_url(self) -> str:
        return f"https://localhost:{self.api_port}/dir"

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.api_cert))

    def root(self) -> str:
        url = f"https://localhost:{self.management_port}/roots/0"
        with urllib.request.urlopen(url, context=self._context(), timeout=10) as answer:
            return answer.read().decode()

    def _dns(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.dns_management_port}/{path}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    def answer_for(self, host: str, address: str) -> None:
        """Resolve `host` to `address` instead of the default."""
        self._dns("add-a", {"host": host, "addresses": [address]})

    def clear(self, host: str) -> None:
        self._dns("clear-a", {"host": host})

    def stop(self) -> None:
        stop(self.pebble)
        stop(self.dns)


def start_pebble(directory: Path, answer: str, http_port: int) -> Pebble:
    """Start challtestsrv (every name resolves to `answer`) and pebble under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "api-cert.pem", directory / "api-key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    dns_port, dns_management = free_port(), free_port()
    dns = _start(
        "pebble-challtestsrv",
        [CHALLTESTSRV, "-defaultIPv4", answer, "-defaultIPv6", "",
         "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "", "-tlsalpn01", "",
         "-management", f"127.0.0.1:{dns_management}"],
        directory / "challtestsrv.log",
        [("127.0.0.1", dns_management)],
    )  # fmt: skip
    api, management = free_port(), free_port()
    config = directory / "pebble.json"
    config.write_text(
        json.dumps(
            {
                "pebble": {
                    "listenAddress": f"127.0.0.1:{api}",
                    "managementListenAddress": f"127.0.0.1:{management}",
                    "certificate": str(cert),
                    "privateKey": str(key),
                    "httpPort": http_port,
                    "tlsPort": free_port(),
                    "ocspResponderURL": "",
                    "externalAccountBindingRequired": False,
                }
            }
        )
    )
    env = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"}
    argv = [PEBBLE, "-config", str(config), "-dnsserver", f"127.0.0.1:{dns_port}", "-strict=false"]
    try:
        pebble = _start(
            "pebble",
            ["env", *(f"{k}={v}" for k, v in env.items()), *argv],
            directory / "pebble.log",
            [("127.0.0.1", api), ("127.0.0.1", management)],
        )
    except BaseException:
        stop(dns)
        raise
    return Pebble(api, management, dns_management, cert, key, pebble, dns)
