"""A generated blog (posts, a page, an image, a copy of the theme) and seeded random edits
to it: what the fast build's tests build again and again."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORDS = [
    *("nginx", "haproxy", "backend", "socket", "cache", "header", "upstream", "worker"),
    *("release", "deploy", "health", "check", "timeout", "buffer", "stream", "client"),
    *("cipher", "listener", "route", "queue", "retry", "daemon", "python", "tornado"),
]
CATEGORIES = ["ops", "python", "talks", "notes"]
CODE = "server {\n    listen 80;\n    root /srv/site;\n}"


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


@dataclass
class Post:
    """One post's fields; `text()` is its reStructuredText."""

    number: int
    title: str
    slug: str
    date: str
    category: str
    tags: list[str]
    summary: str
    body: str
    draft: bool = False
    link_to: str | None = None

    def text(self) -> str:
        lines = [self.title, "#" * len(self.title), "", f":date: {self.date}"]
        lines += [f":category: {self.category}", f":tags: {', '.join(self.tags)}"]
        lines += [f":slug: {self.slug}", f":summary: {self.summary}"]
        lines += [":status: draft"] if self.draft else []
        lines += ["", self.body, "", ".. code-block:: nginx", ""]
        lines += [f"    {line}" for line in CODE.splitlines()]
        if self.link_to:
            lines += ["", f"See `the other post <{{filename}}/{self.link_to}>`_."]
        return "\n".join(lines) + "\n"


@dataclass
class Corpus:
    """The blog under `root`: content/ and theme/."""

    root: Path
    rng: random.Random
    posts: dict[str, Post] = field(default_factory=dict)
    made: int = 0

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def theme(self) -> Path:
        return self.root / "theme"

    def new_post(self, *, draft: bool = False) -> str:
        self.made += 1
        number = self.made
        others = sorted(self.posts)
        post = Post(
            number=number,
            title=_words(self.rng, 2, 5).title(),
            slug=f"post-{number}",
            date=f"20{10 + number % 12}-{1 + number % 12:02d}-{1 + number % 27:02d} 10:00",
            category=self.rng.choice(CATEGORIES),
            tags=sorted(set(self.rng.sample(WORDS, 2))),
            summary=_words(self.rng, 4, 9).capitalize() + ".",
            body=_words(self.rng, 20, 40).capitalize() + ".",
            draft=draft,
            link_to=self.rng.choice(others) if others and self.rng.random() < 0.5 else None,
        )
        name = f"post-{number}.rst"
        self.posts[name] = post
        self.save(name)
        return name

    def save(self, name: str) -> None:
        (self.content / name).write_text(self.posts[name].text(), encoding="utf-8")


def make_corpus(root: Path, seed: int, posts: int = 10) -> Corpus:
    """A blog of `posts` posts (one a draft), an about page, an image and our theme."""
    corpus = Corpus(root, random.Random(seed))
    corpus.content.mkdir(parents=True)
    shutil.copytree(REPO / "theme", corpus.theme)
    (corpus.content / "pages").mkdir()
    (corpus.content / "images").mkdir()
    shutil.copy(REPO / "content" / "images" / "haproxy-stats.png", corpus.content / "images")
    _write_page(corpus, "About these notes.")
    for number in range(posts):
        corpus.new_post(draft=number == posts - 1)
    return corpus


def _write_page(corpus: Corpus, body: str) -> None:
    text = f"About\n#####\n\n:slug: about\n\n{body}\n"
    (corpus.content / "pages" / "about.rst").write_text(text, encoding="utf-8")


def _some_post(corpus: Corpus) -> tuple[str, Post]:
    name = corpus.rng.choice(sorted(corpus.posts))
    return name, corpus.posts[name]


def _edit_field(attribute: str, make: Callable[[Corpus, Post], object]) -> Callable[[Corpus], str]:
    def edit(corpus: Corpus) -> str:
        name, post = _some_post(corpus)
        setattr(post, attribute, make(corpus, post))
        corpus.save(name)
        return f"{attribute} of {name}"

    return edit


def _delete_post(corpus: Corpus) -> str:
    name, _ = _some_post(corpus)
    if len(corpus.posts) < 4:
        return _new_post(corpus)
    del corpus.posts[name]
    (corpus.content / name).unlink()
    # Links to a deleted post would be a build error: they go with it.
    for other_name, other in corpus.posts.items():
        if other.link_to == name:
            other.link_to = None
            corpus.save(other_name)
    return f"deleted {name}"


def _new_post(corpus: Corpus) -> str:
    return f"new {corpus.new_post(draft=corpus.rng.random() < 0.3)}"


def _publish_draft(corpus: Corpus) -> str:
    drafts = sorted(name for name, post in corpus.posts.items() if post.draft)
    if not drafts:
        return _new_post(corpus)
    corpus.posts[drafts[0]].draft = False
    corpus.save(drafts[0])
    return f"published {drafts[0]}"


def _edit_page(corpus: Corpus) -> str:
    _write_page(corpus, _words(corpus.rng, 5, 15).capitalize() + ".")
    return "page about"


def _add_image(corpus: Corpus) -> str:
    corpus.made += 1
    target = corpus.content / "images" / f"shot-{corpus.made}.png"
    shutil.copy(REPO / "content" / "images" / "haproxy-stats.png", target)
    name, post = _some_post(corpus)
    post.body += f"\n\n.. image:: {{static}}/images/{target.name}\n   :alt: a screenshot"
    corpus.save(name)
    return f"image {target.name} in {name}"


def _edit_template(corpus: Corpus) -> str:
    base = corpus.theme / "templates" / "base.html"
    text = base.read_text(encoding="utf-8")
    base.write_text(text.replace("</body>", f"<!-- {corpus.made} -->\n</body>", 1), "utf-8")
    corpus.made += 1
    return "template base.html"


def _slug(corpus: Corpus, post: Post) -> str:
    return f"{post.slug.split('--')[0]}--{corpus.rng.randint(1, 999)}"


def _date(corpus: Corpus, post: Post) -> str:
    others = sorted(p.date for p in corpus.posts.values() if p is not post)
    if others and corpus.rng.random() < 0.5:
        # Another post's date: posts that sort equal must keep one order from build to build.
        return corpus.rng.choice(others)
    year, month, day = (corpus.rng.randint(*span) for span in ((10, 23), (1, 12), (1, 28)))
    return f"20{year}-{month:02d}-{day:02d} 09:30"


EDITS: list[Callable[[Corpus], str]] = [
    _edit_field("body", lambda c, p: _words(c.rng, 20, 40).capitalize() + "."),
    _edit_field("summary", lambda c, p: _words(c.rng, 4, 9).capitalize() + "."),
    _edit_field("title", lambda c, p: _words(c.rng, 2, 5).title()),
    _edit_field("tags", lambda c, p: sorted(set(c.rng.sample(WORDS, c.rng.randint(1, 3))))),
    _edit_field("category", lambda c, p: c.rng.choice(CATEGORIES)),
    _edit_field("date", _date),
    _edit_field("slug", _slug),
    _new_post,
    _delete_post,
    _publish_draft,
    _edit_page,
    _add_image,
    _edit_template,
]


def random_edits(corpus: Corpus, count: int) -> list[Callable[[Corpus], str]]:
    """`count` edits: every kind at least once, the rest drawn at random, shuffled."""
    edits = list(EDITS) + [corpus.rng.choice(EDITS) for _ in range(count - len(EDITS))]
    corpus.rng.shuffle(edits)
    return edits
