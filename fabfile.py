"""Tasks for writing, building and shipping the blog. The logic lives in deploy/."""

from __future__ import annotations

from pathlib import Path

from fabric import task
from invoke import Context
from invoke.exceptions import Exit

from deploy.authoring import PostExistsError, write_new_post

HERE = Path(__file__).resolve().parent


@task
def build(c: Context, publish: bool = False) -> None:
    """Build the site into output/ (--publish: with publishconf.py, warnings fatal)."""
    settings = "publishconf.py" if publish else "pelicanconf.py"
    fatal = " --fatal warnings" if publish else ""
    with c.cd(str(HERE)):
        c.run(f".venv/bin/pelican content -s {settings}{fatal}", pty=False)


@task
def serve(c: Context, port: int = 8000) -> None:
    """Preview the site on http://localhost:PORT, rebuilding on every change."""
    with c.cd(str(HERE)):
        c.run(f".venv/bin/pelican --listen --autoreload --port {int(port)} content", pty=True)


@task(name="new-post")
def new_post(c: Context, title: str) -> None:
    """Start a draft post: content/<slug>.rst with today's date (never overwrites)."""
    try:
        path = write_new_post(HERE / "content", title)
    except (PostExistsError, ValueError) as error:
        raise Exit(str(error), code=1) from None
    print(f"wrote {path.relative_to(HERE)}")
