"""Imports go one way (docs/ARCHITECTURE.md): fabfile → deploy.tasks → deploy.release →
deploy.hosts; every layer may read plugins.settings and plugins.contract; plugins never
import deploy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.site import REPO

# What each package may not import, and why not.
FORBIDDEN = {
    "plugins": ("deploy", "the build knows nothing of the deploy"),
    "deploy/hosts": ("deploy.release", "talking to hosts knows nothing of releases"),
    "deploy/release": ("deploy.tasks", "what a release is knows nothing of the tasks"),
}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package: str) -> None:
    forbidden, why = FORBIDDEN[package]
    files = sorted((REPO / package).rglob("*.py"))
    assert files
    wrong = [
        f"{path.relative_to(REPO)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if module == forbidden or module.startswith(forbidden + ".")
    ]
    assert wrong == [], f"{why}: {wrong}"
