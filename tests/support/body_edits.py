"""Run as a script: `fab serve`'s rebuilds after saved edits, each checked against a clean build.

    python -m tests.support.body_edits <work dir> <seed>

Builds a generated blog with the Rebuilder `fab serve` uses, then saves seeded edits one by
one (bodies, mostly, which the in-memory path rebuilds; a summary, a title and a new link,
which take a whole build) and after each compares the output with a clean `pelican content`
of the same files. Prints one `<edit>: <how it was built>` line per edit; exits non-zero
naming the first difference.
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

from deploy.devserver.rebuild import Rebuilder
from plugins.fastbuild import last_build
from tests.support.corpus import Post, make_corpus
from tests.support.site import build_site
from tests.support.trees import differences, tree


def _text(post: Post, with_summary: bool) -> str:
    text = post.text()
    return text if with_summary else text.replace(f":summary: {post.summary}\n", "")


def main(work: Path, seed: int) -> None:
    corpus = make_corpus(work / "blog", seed=seed, posts=7)
    rng = random.Random(seed)
    names = sorted(name for name, post in corpus.posts.items() if not post.draft)
    # One post without a summary: its body is also its summary on the index and tag pages.
    unsummarised = names[0]

    def save(name: str) -> None:
        post = corpus.posts[name]
        text = _text(post, with_summary=name != unsummarised)
        (corpus.content / name).write_text(text, encoding="utf-8")

    save(unsummarised)
    settings = work / "serveconf.py"
    overrides = {
        "PATH": str(corpus.content),
        "THEME": str(corpus.theme),
        "OUTPUT_PATH": str(work / "served"),
        "BUILD_STATE_PATH": str(work / "state"),
        "DEPLOY_BUILD_PATH": str(work / "deploy-build"),
    }
    settings.write_text(
        "from pelicanconf import *  # noqa: F403\n"
        + "".join(f"{key} = {value!r}\n" for key, value in overrides.items()),
        encoding="utf-8",
    )
    rebuilder = Rebuilder(settings)
    assert rebuilder.build() == ()

    def body(name: str) -> str:
        corpus.posts[name].body += f" Saved {rng.randint(1, 10**6)} times."
        return f"body of {name}"

    def summary(name: str) -> str:
        corpus.posts[name].summary = f"A new summary {rng.randint(1, 10**6)}."
        return f"summary of {name}"

    def title(name: str) -> str:
        corpus.posts[name].title += " Again"
        return f"title of {name}"

    def link(name: str) -> str:
        corpus.posts[name].link_to = next(other for other in names if other != name)
        return f"a new link in {name}"

    edits = [body, body, body, summary, body, title, link, body]
    for number, edit in enumerate(edits, 1):
        name = unsummarised if number in (1, 5) else rng.choice(names)
        what = edit(name)
        save(name)
        problems = rebuilder.build({corpus.content / name})
        assert problems == (), f"{what}: {problems}"
        summary_of_build = last_build()
        # A build from memory reads only the edited posts; a whole build also reads the rest.
        how = "in memory" if summary_of_build and summary_of_build.parsed_before == 0 else "whole"
        shutil.rmtree(work / "clean", ignore_errors=True)
        clean = build_site(
            work / "clean",
            content=corpus.content,
            extra={"THEME": str(corpus.theme), "BUILD_INCREMENTAL": False},
        )
        wrong = differences(tree(clean.output), tree(work / "served"))
        if wrong:
            sys.exit(f"seed {seed}, edit {number} ({what}, built {how}): {wrong}")
        print(f"{what}: {how}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
