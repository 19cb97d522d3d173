"""Search built at publish time: Pagefind indexes the written site, the browser searches it."""

from __future__ import annotations

from .search import register

__all__ = ["register"]
