"""Scan TLS endpoints with sslyze and check each against a Mozilla profile; print JSON.

Runs under the sslyze virtualenv's Python (tests/support/tls_scan.py), not the project's: it
imports nothing from the project. Argument: a JSON list of endpoints, each
{"name", "hostname", "ip", "port", "profile"} with profile "intermediate" or "modern".
Prints {name: {"issues": {check: message}, "groups": [...], "versions": [...]}}, where issues
is empty when the endpoint complies and "error" replaces everything when the scan failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from sslyze import Scanner, ServerNetworkLocation, ServerScanRequest, ServerScanStatusEnum
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)

_VERSIONS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


def _summary(result: Any, profile: str) -> dict[str, Any]:
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        return {"error": f"scan {result.scan_status.name}: {result.connectivity_error_trace}"}
    scan = result.scan_result
    curves = scan.elliptic_curves.result
    summary: dict[str, Any] = {
        "groups": sorted(c.name for c in (curves.supported_curves or [])),
        "versions": [
            name
            for field, name in _VERSIONS.items()
            if getattr(scan, field).result.is_tls_version_supported
        ],
        "issues": {},
    }
    try:
        check_server_against_tls_configuration(
            result, MozillaTlsConfiguration.get(TlsConfigurationEnum(profile))
        )
    except ServerNotCompliantWithTlsConfiguration as error:
        summary["issues"] = error.issues
    return summary


def main(endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    by_location = {}
    requests = []
    for endpoint in endpoints:
        location = ServerNetworkLocation(
            hostname=endpoint["hostname"], port=endpoint["port"], ip_address=endpoint["ip"]
        )
        by_location[(endpoint["ip"], endpoint["port"])] = endpoint
        requests.append(
            ServerScanRequest(
                server_location=location, scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER
            )
        )
    scanner = Scanner(per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=3)
    scanner.queue_scans(requests)
    report = {}
    for result in scanner.get_results():
        endpoint = by_location[(result.server_location.ip_address, result.server_location.port)]
        report[endpoint["name"]] = _summary(result, endpoint["profile"])
    return report


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1])), sort_keys=True))
