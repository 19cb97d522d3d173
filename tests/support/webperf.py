"""Helpers for the webperf tests: a small site with images, and what a page costs to load."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests.support.html import Reference, local_target, parse
from tests.support.site import REPO

# Link relations that make a browser fetch while loading the page.
FETCHED_RELS = frozenset({"stylesheet", "icon", "shortcut", "preload", "modulepreload"})

POST = """\
{title}
{underline}

:date: 2024-03-0{day} 10:00
:category: {category}
:tags: {tags}
:slug: {slug}
:summary: {summary}

Opening paragraph of {slug}, long enough to be a real summary of the post that follows.

{images}

Details
=======

.. code-block:: python

    def greet(name):
        #   spacing   inside code   must survive minification
        return f"hello {{name}}"

- first point
- second point with `a link <https://example.org/>`_

Closing words.
"""


def _screenshot(path: Path, size: tuple[int, int]) -> None:
    """A PNG shaped like a screenshot of a stats table: rules, coloured cells and text."""
    rng = random.Random(size[0])
    image = Image.new("RGB", size, (246, 246, 240))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    words = ["frontend", "backend", "web1", "web2", "UP", "DOWN", "L7OK", "200", "0", "1.2k"]
    for top in range(0, size[1], 22):
        fill = rng.choice([(230, 240, 230), (250, 250, 250), (240, 220, 220)])
        draw.rectangle((0, top, size[0], top + 21), fill=fill, outline=(200, 200, 210))
        for left in range(6, size[0] - 80, 76):
            text = " ".join(rng.choice(words) for _ in range(2))
            draw.text((left, top + 4), text, fill=(20, 20, 40), font=font)
    image.save(path, "PNG", optimize=True)


def _photo(path: Path, size: tuple[int, int]) -> None:
    """A JPEG with smooth gradients and noise, like a photograph, saved at high quality."""
    rng = random.Random(7)
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image, noise, 0.3)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x, y, x + 120, y + 80), fill=colour)
    image.save(path, "JPEG", quality=95)


def write_image_site(root: Path) -> Path:
    """A content folder: three posts, one with a screenshot, a photo, an icon and an SVG."""
    content = root / "content"
    (content / "images").mkdir(parents=True)
    (content / "pages").mkdir()
    shutil.copytree(REPO / "content" / "extra", content / "extra")
    _screenshot(content / "images" / "screenshot.png", (1600, 900))
    _photo(content / "images" / "photo.jpg", (2000, 1333))
    Image.new("RGB", (64, 64), (10, 120, 200)).save(content / "images" / "icon.png")
    (content / "images" / "diagram.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 150">'
        '<rect width="300" height="150" fill="#eee"/></svg>\n'
    )
    images = "\n\n".join(
        f".. image:: {{static}}/images/{name}\n    :alt: {alt}"
        for name, alt in [
            ("screenshot.png", "A screenshot"),
            ("photo.jpg", "A photograph"),
            ("icon.png", "A small icon"),
            ("diagram.svg", "A diagram"),
        ]
    )
    posts = [
        ("with-images", "Pictures", "notes", "images, demo", images),
        ("plain-one", "Plain one", "notes", "demo", ""),
        ("plain-two", "Plain two", "other", "demo, text", ""),
    ]
    for day, (slug, title, category, tags, body) in enumerate(posts, start=1):
        text = POST.format(
            title=title,
            underline="#" * len(title),
            day=day,
            category=category,
            tags=tags,
            slug=slug,
            summary=f"What the post {slug} is about.",
            images=body,
        )
        (content / f"{slug}.rst").write_text(text)
    (content / "pages" / "about.rst").write_text(
        "About\n#####\n\n:slug: about\n:summary: About this test site.\n\nA test site.\n"
    )
    return content


def read_stats(cache: Path) -> dict[str, int]:
    """The counts the plugin saved for the last build using `cache`."""
    return json.loads((cache / "stats.json").read_text())


@dataclass(frozen=True)
class Fetch:
    """One request a page makes while loading: the element, and the file it resolves to."""

    tag: str
    url: str
    target: Path


def page_fetches(output: Path, page: Path, siteurl: str) -> list[Fetch]:
    """The subresources a browser requests to load `page` (not links, feeds or canonical)."""
    fetches: dict[str, Fetch] = {}
    for element in parse(page).iter():
        tag = str(element.tag)
        if tag == "link":
            rels = set((element.get("rel") or "").lower().split())
            url = element.get("href") if rels & FETCHED_RELS else None
        elif tag in ("script", "img", "video", "audio", "iframe"):
            url = element.get("src")
        else:
            url = None
        if not url:
            continue
        target = local_target(output, Reference(page, tag, "src", url), siteurl)
        assert target is not None, f"{page}: {tag} loads {url} from another site"
        fetches.setdefault(url, Fetch(tag, url, target))
    return list(fetches.values())


def wire_size(path: Path) -> int:
    """Bytes over the wire for a client that accepts brotli: the .br sibling when there is one."""
    brotli = path.with_name(path.name + ".br")
    return (brotli if brotli.exists() else path).stat().st_size


def render_blocking(page: Path) -> list[str]:
    """Requests in <head> that block the first render: stylesheets and classic sync scripts."""
    head = parse(page).find("head")
    assert head is not None
    blocking = []
    for element in head.iter():
        if element.tag == "link" and "stylesheet" in (element.get("rel") or "").split():
            blocking.append(f"stylesheet {element.get('href')}")
        elif element.tag == "script" and element.get("src"):
            deferred = element.get("defer") is not None or element.get("async") is not None
            if not deferred and element.get("type") != "module":
                blocking.append(f"script {element.get('src')}")
    return blocking
