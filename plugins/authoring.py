"""Writing posts: the skeleton `fab new-post` creates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pelican.settings import DEFAULT_CONFIG
from pelican.utils import slugify


class PostExistsError(FileExistsError):
    """A post with that slug is already there; we never overwrite one."""


def new_post_text(title: str, when: dt.datetime) -> str:
    """The reStructuredText skeleton of a draft post called `title`."""
    title = " ".join(title.split())
    if not slug_for(title):
        raise ValueError(f"the title {title!r} has no letters or digits to make a slug from")
    underline = "#" * len(title)
    return (
        f"{title}\n{underline}\n\n"
        f":date: {when:%Y-%m-%d %H:%M}\n"
        f":slug: {slug_for(title)}\n"
        ":category: notes\n"
        ":tags: \n"
        ":summary: One sentence that says what the reader will learn.\n"
        ":status: draft\n\n"
        "Write the post here.\n"
    )


def slug_for(title: str) -> str:
    """The slug Pelican would give `title`."""
    return slugify(title, regex_subs=DEFAULT_CONFIG["SLUG_REGEX_SUBSTITUTIONS"])


def write_new_post(content_dir: Path, title: str, when: dt.datetime | None = None) -> Path:
    """Create `content_dir/<slug>.rst` as a draft; refuse to overwrite an existing file."""
    text = new_post_text(title, when or dt.datetime.now())
    path = content_dir / f"{slug_for(title)}.rst"
    try:
        with path.open("x", encoding="utf-8") as post:
            post.write(text)
    except FileExistsError:
        raise PostExistsError(f"{path} already exists; pick another title or edit it") from None
    return path
