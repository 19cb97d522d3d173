"""Which precompressed siblings a backend makes itself instead of receiving them.

A small edit changes a page's .gz and .br from the edit on, so rsync's delta encoding finds
little to reuse in them and they travel almost whole: for a one-post edit, twice the rest of
the release. So for a file the live release already has, its siblings stay out of the
transfer. The backend hard-links the live sibling when the file did not change, and compresses
the new file with the build's encoders and settings when it did (see
deploy/remote/make_siblings.sh). Only the siblings of files new to the backend travel.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from deploy.inventory import Precompression
from plugins.contract import COMPRESSED_SUFFIXES

# rsync reads exclude lines as patterns: a name with a pattern character travels instead.
_PATTERN_CHARACTERS = frozenset("*?[\\\n")


def made_on_backend(
    output: Path, live_files: set[str], precompression: Precompression | None
) -> list[str]:
    """The siblings in `output` (relative paths) whose file the live release has."""
    if precompression is None:
        return []
    made = []
    for path in sorted(output.rglob("*")):
        relative = path.relative_to(output).as_posix()
        source, suffix = relative[:-3], relative[-3:]
        if (
            suffix in COMPRESSED_SUFFIXES
            and source in live_files
            and PurePosixPath(source).suffix.lower().lstrip(".") in precompression.extensions
            and not _PATTERN_CHARACTERS & set(relative)
            and path.is_file()
            and (output / source).is_file()
        ):
            made.append(relative)
    return made


@contextmanager
def exclude_file(paths: list[str]) -> Iterator[Path]:
    """A temporary rsync --exclude-from file, each of `paths` anchored at the transfer's top."""
    with tempfile.NamedTemporaryFile("w", prefix="rsync-exclude-", suffix=".txt") as handle:
        handle.write("".join(f"/{path}\n" for path in paths))
        handle.flush()
        yield Path(handle.name)
