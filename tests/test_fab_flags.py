"""Fabric's global flags and every task's help, through the real `fab` command: `-H` stops
with one line, `--dry` means a dry run or stops, and `fab build` keeps Pelican's colours on
a terminal."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.tasks.flags import HOSTS_REFUSED
from tests.support.site import REPO, copy_project

FAB = Path(sys.executable).parent / "fab"
TASKS = [
    "build",
    "certificate",
    "check",
    "new-post",
    "preview",
    "publish",
    "rollback",
    "serve",
    "setup",
    "status",
]
# Each task with the arguments it needs to get as far as the flags.
INVOCATIONS = {task: [task] for task in TASKS} | {"new-post": ["new-post", "A Title"]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """What `fab` loads and builds, copied."""
    return copy_project(tmp_path)


def fab(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FAB), *args], cwd=project, capture_output=True, text=True, timeout=120
    )


def _listing(project: Path) -> list[str]:
    return sorted(str(p.relative_to(project)) for p in project.rglob("*") if ".venv" not in p.parts)


def test_the_flags_are_tried_on_every_task():
    listing = fab(REPO, "-l").stdout
    assert sorted(re.findall(r"^  (\S+)  ", listing, re.MULTILINE)) == TASKS


@pytest.mark.parametrize("task", TASKS)
def test_hosts_flag_stops_every_task_with_one_line(project: Path, task: str):
    before = _listing(project)
    result = fab(project, "-H", "web1.example.org,web2", *INVOCATIONS[task])
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [HOSTS_REFUSED]
    assert result.stdout == ""
    assert _listing(project) == before


@pytest.mark.parametrize(
    ("task", "instead"),
    [
        ("rollback", "`fab status` shows"),
        ("setup", "a second run changes nothing"),
        ("certificate", "`fab status` shows the certificate"),
        ("preview", "it changes nothing"),
    ],
)
def test_dry_stops_tasks_that_have_no_dry_run(project: Path, task: str, instead: str):
    result = fab(project, "--dry", task)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: fab --dry {task}: {task} has no dry run; ") and instead in line


def test_dry_new_post_writes_nothing(project: Path):
    result = fab(project, "--dry", "new-post", "Draining haproxy backends")
    assert result.returncode == 0, result.stderr
    assert "would write content/draining-haproxy-backends.rst" in result.stdout
    assert not (project / "content" / "draining-haproxy-backends.rst").exists()


def test_dry_build_shows_the_command_and_builds_nothing(project: Path):
    result = fab(project, "--dry", "build", "--publish")
    assert result.returncode == 0, result.stderr
    assert "pelican content -s publishconf.py --fatal warnings" in result.stdout
    assert not (project / "output").exists()


@pytest.mark.parametrize("task", TASKS)
def test_every_option_of_every_task_has_help(task: str):
    result = fab(REPO, "--help", task)
    assert result.returncode == 0, result.stderr
    options = result.stdout.split("Options:\n", 1)[1]
    entries = re.split(r"\n(?=  -)", options.rstrip())
    assert entries and entries[0].strip()
    for entry in entries:
        # "  -s STRING, --settings=STRING   help text": the flags, then words.
        assert re.match(r"\s+-\S.*?\s{2,}\S", entry), f"{task}: {entry!r} has no help"


def _run_in_terminal(argv: list[str], cwd: Path, columns: int) -> tuple[int, str]:
    """Run argv with a pseudo-terminal `columns` wide as its stdout (util-linux `script`)."""
    inner = f"stty cols {columns} rows 50 && {shlex.join(argv)}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    result = subprocess.run(
        ["script", "--quiet", "--return", "--command", inner, "/dev/null"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return result.returncode, result.stdout


def test_build_on_a_terminal_keeps_pelicans_colours_and_width(project: Path):
    status, output = _run_in_terminal([str(FAB), "build"], project, 180)
    assert status == 0, output
    assert "--log-handler plain" not in output
    assert "\x1b[" in output  # rich's colours reached the terminal
    # Pelican's summary, one line as wide as the terminal allows (piped, rich wraps at 80).
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    one_line = r"^Done: Processed \d+ articles?, .{40,} pages in .* seconds\."
    assert re.search(one_line, plain, re.M), plain


def test_build_on_a_terminal_shows_its_progress_and_piped_does_not(project: Path):
    status, output = _run_in_terminal([str(FAB), "build"], project, 180)
    assert status == 0, output
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    assert re.search(r"\d+/\d+ files read", plain), plain
    assert re.search(r"\d+ pages rendered", plain), plain
    shutil.rmtree(project / "output")
    piped = fab(project, "build")
    assert piped.returncode == 0, piped.stderr
    assert "files read" not in piped.stdout + piped.stderr
    assert "pages rendered" not in piped.stdout + piped.stderr
