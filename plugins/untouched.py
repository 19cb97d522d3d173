"""Pages an incremental build did not render again, handed from fastbuild to webperf.

In a publish build webperf rewrites pages in place. A page whose inputs did not change is
left by fastbuild as the last build finished it (rewritten, precompressed), and named here
with where its rendering from before webperf is stored: webperf keeps the finished page
when its own inputs did not change either, and otherwise starts again from that rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

_untouched: dict[Path, Path] = {}


def reset() -> None:
    """A new build: nothing kept yet."""
    _untouched.clear()


def add(page: Path, rendering: Path) -> None:
    """`page` was left as the last build finished it; `rendering`: its bytes before webperf."""
    _untouched[page] = rendering


def pages() -> Mapping[Path, Path]:
    """Every page this build left as the last one finished it, with its rendering."""
    return _untouched
