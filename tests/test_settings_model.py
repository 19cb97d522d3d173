"""One settings model: each plugin loaded once, every bad setting one line in pelican and fab."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plugins.settings import SettingsError, load, rules
from plugins.settings.model import DEFAULTS
from tests.support.site import REPO, TEST_STATS_ENV, build_site

FAB = Path(sys.executable).parent / "fab"


def test_every_plugin_file_is_loaded_once_by_pelican_and_deploy(tmp_path: Path) -> None:
    # Pelican's loader, then the deploy, in one process: any module file loaded under two
    # names (`serverconfig` and `plugins.serverconfig`) would show up twice.
    script = textwrap.dedent(
        f"""
        import collections, json, sys
        from pathlib import Path
        from pelican import Pelican
        from pelican.settings import read_settings
        settings = read_settings("pelicanconf.py", override={{
            "OUTPUT_PATH": {str(tmp_path / "output")!r},
            "DEPLOY_BUILD_PATH": {str(tmp_path / "build")!r},
        }})
        Pelican(settings).run()
        import deploy.inventory, deploy.tasks.publish
        deploy.inventory.load_inventory(Path("pelicanconf.py").resolve())
        plugins = Path("plugins").resolve()
        files = collections.Counter(
            str(Path(m.__file__).resolve()) for m in list(sys.modules.values())
            if getattr(m, "__file__", None) and plugins in Path(m.__file__).resolve().parents
        )
        print(json.dumps(files))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {
        str(path.resolve())
        for name in ("serverconfig", "webperf", "settings", "sitemap_lastmod")
        for path in (REPO / "plugins" / name).glob("*.py")
    }
    assert expected <= set(counts), sorted(expected - set(counts))
    assert {name: n for name, n in counts.items() if n != 1} == {}


BAD_SETTINGS = [
    # (family, override, what the one line must say)
    ("webperf", {"WEBPERF_BROTLI_QUALITY": 12}, "WEBPERF_BROTLI_QUALITY = 12 is not allowed"),
    ("webperf", {"WEBPERF_MINIFI": False}, "did you mean WEBPERF_MINIFY?"),
    ("serverconfig", {"NGINX_ROLE": "edge"}, "NGINX_ROLE = 'edge' is not allowed"),
    ("serverconfig", {"HAPROXY_HTTPS_PROT": 443}, "did you mean HAPROXY_HTTPS_PORT?"),
    ("deploy", {"DEPLOY_RELEASES_KEPT": 1}, "DEPLOY_RELEASES_KEPT = 1 is not allowed"),
    ("deploy", {"DEPLOY_DRAIN_TIMOUT": 5}, "did you mean DEPLOY_DRAIN_TIMEOUT?"),
    ("hosts", {"BALANCER": {"address": "10.0.0.1", "ssh_prot": 22}}, "did you mean ssh_port?"),
    ("hosts", {"BACKENDS": [{"name": "a b"}]}, "BACKENDS[0]"),
    ("build", {"BUILD_WORKERS": 0}, "BUILD_WORKERS = 0 is not allowed"),
    ("build", {"BUILD_INCREMENTEL": False}, "did you mean BUILD_INCREMENTAL?"),
    ("build", {"BUILD_STATE_PATH": ""}, "BUILD_STATE_PATH = '' is not allowed"),
]


@pytest.mark.parametrize(("family", "override", "message"), BAD_SETTINGS)
def test_a_bad_setting_stops_pelican_with_one_line(tmp_path, family, override, message):
    result = build_site(tmp_path, "pelicanconf.py", extra=override, check=False).result
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in out
    critical = [line for line in out.splitlines() if "CRITICAL" in line]
    assert len(critical) == 1, out
    assert message in " ".join(out.split()), out


@pytest.mark.parametrize(("family", "override", "message"), BAD_SETTINGS[::2])
def test_a_bad_setting_stops_fab_with_one_line(tmp_path, family, override, message):
    settings = tmp_path / "bad.py"
    lines = [f"{key} = {json.dumps(value)}" for key, value in override.items()]
    header = f"from pelicanconf import *  # noqa\nPATH = {str(REPO / 'content')!r}\n"
    settings.write_text(header + "\n".join(lines) + "\n")
    result = subprocess.run(
        [str(FAB), "check", "--settings", str(settings)],
        cwd=REPO,
        env={**os.environ, **TEST_STATS_ENV},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {settings}: "), result.stderr
    assert message in lines[0]


def test_a_settings_file_pelican_cannot_read_is_one_line(tmp_path: Path) -> None:
    settings = tmp_path / "broken.py"
    settings.write_text("SITEURL = undefined_name\n")
    result = subprocess.run(
        [str(FAB), "check", "--settings", str(settings)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {settings}: --settings = '{settings}' is not allowed: expected a file Pelican "
        "can read (name 'undefined_name' is not defined)"
    ]


def test_secrets_are_never_shown() -> None:
    password = "hunter2-but-longer"
    with pytest.raises(SettingsError) as caught:
        rules.password("HAPROXY_STATS_PASSWORD", password + "\n")
    assert password not in str(caught.value)
    assert "<hidden>" in str(caught.value)


def test_each_default_lives_in_one_family() -> None:
    from plugins.settings import acme, build, content, deploy, search, site, webperf

    families = [set(m.DEFAULTS) for m in (site, acme, webperf, deploy, content, search, build)]
    assert sum(len(f) for f in families) == len(DEFAULTS)


def test_relative_paths_are_taken_from_the_base_folder(tmp_path: Path) -> None:
    from tests.support.serverconfig import BASE_SETTINGS

    settings = {**BASE_SETTINGS, "OUTPUT_PATH": "output", "DEPLOY_BUILD_PATH": "build"}
    model = load(settings, base=tmp_path)
    assert model.deploy.build_path == tmp_path / "build"
    assert model.webperf.cache == tmp_path / ".cache" / "webperf"


@pytest.mark.parametrize("value", [None, 5, ["https://blog.example.org"]])
def test_a_siteurl_pelican_itself_trips_on_is_one_line_naming_it(tmp_path, value):
    # Pelican checks SITEURL itself before any plugin runs; the settings file's log filter
    # lets the model's rule speak instead of Pelican's traceback.
    result = build_site(tmp_path, "pelicanconf.py", extra={"SITEURL": value}, check=False).result
    out = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in out and "AttributeError" not in out
    # Pelican's rich log handler wraps lines and puts its source location at the end of one.
    text = " ".join(re.sub(r"\s\S+\.py:\d+\s", " ", out).split())
    assert f"CRITICAL SITEURL = {value!r} is not allowed: expected an http:// or https" in text


def test_fab_names_a_siteurl_pelican_itself_trips_on(tmp_path: Path) -> None:
    settings = tmp_path / "bad.py"
    settings.write_text(
        f"from pelicanconf import *  # noqa\nPATH = {str(REPO / 'content')!r}\nSITEURL = 5\n"
    )
    result = subprocess.run(
        [str(FAB), "check", "--settings", str(settings)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {settings}: SITEURL = 5 is not allowed: expected an http:// or https:// URL: "
        "a host name, an optional port and path, nothing else"
    ]
