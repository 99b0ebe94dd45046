"""Human curation: pinned queries are always selected, rejected ones never."""

from __future__ import annotations

from prsynth.errors import ConfigError
from prsynth.store import Store

MARKS = ("pin", "reject")


def mark_query(store: Store, query_id: str, mark: str | None, note: str = "") -> str:
    """Pin or reject a query (None clears its mark); return what was done, in words."""
    if store.get_query(query_id) is None:
        raise ConfigError(
            f"query {query_id!r} does not exist; list query ids with `prsynth export queries`"
        )
    if mark is None:
        return f"cleared the mark of {query_id}" if store.clear_mark(query_id) \
            else f"{query_id} had no mark"
    if mark not in MARKS:
        raise ConfigError(f"mark {mark!r} is unknown; use pin or reject")
    store.set_mark(query_id, mark, note)
    return f"{'pinned' if mark == 'pin' else 'rejected'} {query_id}"
