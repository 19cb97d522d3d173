"""The synthetic corpus the benchmarks build, serve and publish: seeded, realistic posts.

`write_corpus(content, count)` writes the same `count` reStructuredText posts on every run (one
seed): headings, lists, code blocks, inline literals, links and links to earlier posts.
`post_url(path)` is where Pelican puts a post's page.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

WORDS = [
    *[
        "server",
        "request",
        "cache",
        "header",
        "upstream",
        "worker",
        "socket",
        "backend",
        "frontend",
        "proxy",
    ],
    *[
        "certificate",
        "latency",
        "throughput",
        "config",
        "module",
        "build",
        "deploy",
        "release",
        "health",
    ],
    *[
        "check",
        "timeout",
        "buffer",
        "stream",
        "connection",
        "client",
        "handshake",
        "cipher",
        "protocol",
    ],
    *[
        "listener",
        "port",
        "address",
        "route",
        "balance",
        "weight",
        "queue",
        "retry",
        "log",
        "metric",
        "daemon",
    ],
    *[
        "process",
        "thread",
        "event",
        "loop",
        "callback",
        "python",
        "tornado",
        "nginx",
        "haproxy",
        "debian",
    ],
    *["package", "version", "kernel", "memory", "disk", "file", "path"],
]
CATEGORIES = ["tutorials", "coding", "talks", "ops", "python", "networking", "notes", "reviews"]
TAGS = [f"{word}s" if i % 3 else word for i, word in enumerate(WORDS[:40])]
CODE = {
    "python": (
        "import socket\n\n\ndef fetch(host, port=80):\n"
        '    """Open a connection and send a request."""\n'
        "    with socket.create_connection((host, port), timeout=5) as sock:\n"
        '        sock.sendall(b"GET / HTTP/1.1\\r\\nHost: " + host.encode() + b"\\r\\n\\r\\n")\n'
        "        return sock.recv(4096)\n"
    ),
    "nginx": (
        "server {\n    listen 80;\n    server_name example.org;\n    root /srv/site;\n\n"
        "    location / {\n        try_files $uri $uri/ =404;\n    }\n\n"
        "    location ~* \\.(css|js)$ {\n        expires 1y;\n    }\n}\n"
    ),
    "bash": (
        "set -eu\nfor host in web1 web2; do\n"
        '    ssh "$host" sudo nginx -t && ssh "$host" sudo systemctl reload nginx\n'
        "done\n"
    ),
    "yaml": "services:\n  web:\n    image: nginx:1.22\n    ports:\n      - '8080:80'\n",
}


def sentence(rng: random.Random, low: int = 8, high: int = 20) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    if rng.random() < 0.3:
        words[rng.randrange(len(words))] = f"``{rng.choice(WORDS)}_{rng.choice(WORDS)}``"
    if rng.random() < 0.2:
        words[rng.randrange(len(words))] = f"`{rng.choice(WORDS)} <https://example.org/>`_"
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    lines, line = [], ""
    for word in " ".join(sentence(rng) for _ in range(rng.randint(3, 6))).split():
        if len(line) + len(word) > 90:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def post(rng: random.Random, number: int, slugs: list[str]) -> tuple[str, str]:
    slug = f"post-{number:04d}-{rng.choice(WORDS)}-{rng.choice(WORDS)}"
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).title()
    date = f"{2010 + number % 14}-{1 + number % 12:02d}-{1 + number % 28:02d} 10:{number % 60:02d}"
    tags = ", ".join(sorted(set(rng.sample(TAGS, rng.randint(2, 4)))))
    parts = [
        title,
        "#" * len(title),
        "",
        f":date: {date}",
        f":category: {rng.choice(CATEGORIES)}",
        f":tags: {tags}",
        f":slug: {slug}",
        f":summary: {sentence(rng)}",
        "",
        paragraph(rng),
        "",
    ]
    if slugs and rng.random() < 0.5:
        parts += [f"See also `an earlier post <{{filename}}/{rng.choice(slugs)}.rst>`_.", ""]
    for _ in range(rng.randint(3, 6)):
        heading = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 4))).capitalize()
        parts += [heading, "=" * len(heading), "", paragraph(rng), ""]
        roll = rng.random()
        if roll < 0.5:
            language = rng.choice(sorted(CODE))
            body = "\n".join(f"    {line}" if line else "" for line in CODE[language].split("\n"))
            parts += [f".. code-block:: {language}", "", body.rstrip(), ""]
        elif roll < 0.75:
            parts += [f"- {sentence(rng, 4, 10)}" for _ in range(rng.randint(3, 6))] + [""]
        else:
            parts += [f"#. {sentence(rng, 4, 10)}" for _ in range(rng.randint(3, 5))] + [""]
        parts += [paragraph(rng), ""]
    return slug, "\n".join(parts)


def write_corpus(content: Path, count: int) -> list[Path]:
    """Write `count` posts into `content` (made if missing, other files left alone)."""
    rng = random.Random(2013)
    content.mkdir(parents=True, exist_ok=True)
    slugs: list[str] = []
    paths = []
    for number in range(count):
        slug, text = post(rng, number, slugs)
        path = content / f"{slug}.rst"
        path.write_text(text, encoding="utf-8")
        slugs.append(slug)
        paths.append(path)
    return paths


def post_url(path: Path) -> str:
    """ARTICLE_URL (pelicanconf.py) of a post with a `:date:` and a `:slug:`, generated or
    not: {year}/{month}/{day}/{slug}/."""
    text = path.read_text(encoding="utf-8")
    date = re.search(r"^:date: (\d{4})-(\d{2})-(\d{2})", text, re.M)
    slug = re.search(r"^:slug: (\S+)", text, re.M)
    if not (date and slug):
        raise ValueError(f"{path}: no ':date: YYYY-MM-DD' or no ':slug:' line")
    return f"{date[1]}/{date[2]}/{date[3]}/{slug[1]}/"
