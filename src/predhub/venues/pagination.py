"""Pagination guards shared by the adapters.

Venues paginate with opaque cursors (keyset cursors, page tokens) or with
offsets. A venue that hands back a cursor it already gave us would make a
naive loop spin forever; `CursorGuard` turns that into a `CursorLoop`
(a `FatalError`), and caps the number of pages as a second line of defence.
"""

from __future__ import annotations

from predhub.venues.errors import CursorLoop

END_MARKERS = frozenset({"", "LTE="})  # "LTE=" is the CLOB's base64 "-1": no more pages


class CursorGuard:
    """Tracks the cursors of one pagination run.

    `advance(cursor)` returns the cursor to request next, or None when the
    run is over (cursor absent, empty, or a known end marker); it raises
    `CursorLoop` when a cursor repeats or `max_pages` is exceeded.
    """

    def __init__(
        self,
        venue: str,
        endpoint: str,
        *,
        max_pages: int = 100_000,
        end_markers: frozenset[str] = END_MARKERS,
    ) -> None:
        self.venue = venue
        self.endpoint = endpoint
        self.max_pages = max_pages
        self.end_markers = end_markers
        self.pages = 0
        self._seen: set[str] = set()

    def advance(self, cursor: object) -> str | None:
        self.pages += 1
        if cursor is None:
            return None
        text = str(cursor)
        if text in self.end_markers:
            return None
        if text in self._seen:
            raise CursorLoop(
                f"cursor {text[:40]!r} returned twice", venue=self.venue, endpoint=self.endpoint
            )
        if self.pages >= self.max_pages:
            raise CursorLoop(
                f"more than {self.max_pages} pages", venue=self.venue, endpoint=self.endpoint
            )
        self._seen.add(text)
        return text


class OffsetGuard:
    """Offset pagination: stops on an empty page (or a short one), or at the venue's offset cap.

    `short_page_ends=False` is for venues that may silently cap `limit`
    below what was asked (a short page then does not mean the end).
    `capped` tells afterwards whether the run stopped at `max_offset`
    rather than at the end of the data.
    """

    def __init__(
        self, limit: int, *, max_offset: int | None = None, short_page_ends: bool = True
    ) -> None:
        self.limit = limit
        self.max_offset = max_offset
        self.short_page_ends = short_page_ends
        self.offset = 0
        self.capped = False

    def advance(self, page_size: int) -> int | None:
        """The next offset to request, or None when the run is over."""
        if page_size == 0 or (self.short_page_ends and page_size < self.limit):
            return None
        self.offset += page_size
        if self.max_offset is not None and self.offset > self.max_offset:
            self.capped = True
            return None
        return self.offset
