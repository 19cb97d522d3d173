"""What the last pass left finished in one output folder, so the next one can keep it.

A page is finished once rewritten and precompressed. The record holds, per page, the size
and mtime of the page and of each sibling (None: no sibling, the encoding did not pay) and
the originals it names, with the digest of the Context it was rewritten in. A page the
incremental build did not render again (plugins/untouched.py) is kept when the Context is
the same and the page and its siblings are exactly as recorded; otherwise it is rewritten
from its rendering. A missing or unreadable record only costs the work.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from plugins import contract

log = logging.getLogger(__name__)

Stamp = tuple[int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_size, stat.st_mtime_ns


def stamps(page: Path) -> list[Stamp]:
    """The page's (size, mtime) and each sibling's, in COMPRESSED_SUFFIXES order."""
    return [_stamp(page)] + [_stamp(Path(f"{page}{s}")) for s in contract.COMPRESSED_SUFFIXES]


@dataclass
class Finished:
    """The record of one output folder."""

    file: Path
    context: str = ""
    pages: dict[str, tuple[list[Stamp], list[str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, cache_root: Path, output: Path) -> Finished:
        file = cache_root / "finished" / f"{contract.output_key(output)}.json"
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            pages = {
                rel: ([tuple(s) if s else None for s in page[0]], page[1])
                for rel, page in data["pages"].items()
            }
            return cls(file, data["context"], pages)
        except FileNotFoundError:
            return cls(file)
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            log.info("webperf: %s is unreadable, rewriting every page", file)
            return cls(file)

    def referenced(self, rel: str, page: Path, context: str) -> list[str] | None:
        """The originals `page` names, if it is finished as recorded in `context`; else None."""
        recorded = self.pages.get(rel)
        if context != self.context or recorded is None or recorded[0] != stamps(page):
            return None
        return recorded[1]

    def save(self, context: str, pages: dict[str, tuple[list[Stamp], list[str]]]) -> None:
        """Record the pages this pass finished (or kept) in `context`."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        data = {"context": context, "pages": pages}
        contract.write_atomic(self.file, json.dumps(data, separators=(",", ":")))
