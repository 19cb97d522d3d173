"""Golden files of the rendered server config.

Regenerate after an intended change, then review the diff:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_serverconfig_golden.py
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.serverconfig import GOLDEN_CASES, golden_files

GOLDEN = Path(__file__).parent / "golden" / "serverconfig"


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_matches_golden_files(name):
    files = golden_files(name)
    case = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        shutil.rmtree(case, ignore_errors=True)
        for relative, text in files.items():
            (case / relative).parent.mkdir(parents=True, exist_ok=True)
            (case / relative).write_text(text, encoding="utf-8")
    expected = {
        str(path.relative_to(case)): path.read_text(encoding="utf-8")
        for path in sorted(case.rglob("*"))
        if path.is_file()
    }
    assert sorted(files) == sorted(expected), "set of files differs: UPDATE_GOLDEN=1 to accept"
    for relative, text in files.items():
        assert text == expected[relative], f"{name}/{relative} differs from the golden file"


def test_rendering_is_deterministic():
    for name in GOLDEN_CASES:
        assert golden_files(name) == golden_files(name)
