"""Output folders compared file by file: what the fast build's tests check after each edit."""

from __future__ import annotations

from pathlib import Path


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def differences(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    """What differs between two trees, one line each."""
    lines = [f"missing {name}" for name in sorted(expected.keys() - actual.keys())]
    lines += [f"extra {name}" for name in sorted(actual.keys() - expected.keys())]
    lines += [
        f"differs {name}"
        for name in sorted(expected.keys() & actual.keys())
        if expected[name] != actual[name]
    ]
    return lines
