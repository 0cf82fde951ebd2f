"""Compact, append-only storage of every simulated trade.

The truth endpoint must return every trade ever made, yet the soak run must
keep memory flat, so each market keeps only a short tail of packed records in
memory and spills full chunks to one anonymous temporary file. A record is 15
bytes: time (ms), price in 1/10,000, size in 1/100, and a flags byte holding
the outcome index and the taker side.
"""

from __future__ import annotations

import struct
import tempfile
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

RECORD = struct.Struct("<qHIB")
CHUNK = 16  # records per spilled chunk (bounds memory: 240 bytes per market)
GLOBAL_RECENT = 20_000  # trades remembered across markets, for venue-wide feeds


@dataclass(slots=True, frozen=True)
class TradeRecord:
    """One trade as stored: `seq` is its index within its market (0 = first)."""

    seq: int
    ts_ms: int
    price: float  # price of the traded outcome's token, in [0, 1]
    size: float
    outcome: int
    side: str  # taker side, "BUY" or "SELL"


def _unpack(seq: int, raw: bytes) -> TradeRecord:
    ts_ms, px, sz, flags = RECORD.unpack(raw)
    return TradeRecord(
        seq=seq,
        ts_ms=ts_ms,
        price=px / 10_000,
        size=sz / 100,
        outcome=flags & 0x0F,
        side="SELL" if flags & 0x10 else "BUY",
    )


class _MarketLog:
    __slots__ = ("chunks", "count", "tail")

    def __init__(self) -> None:
        self.tail = bytearray()
        self.chunks = array("q")  # file offsets of spilled chunks, oldest first
        self.count = 0


class TradeStore:
    """Every trade of every market, readable by index range."""

    def __init__(self) -> None:
        self._logs: dict[int, _MarketLog] = {}
        # kept open for the world's lifetime and closed by close(), not a with-block
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="predhub-sim-trades-")  # noqa: SIM115
        self._file_end = 0
        self.recent: deque[tuple[int, int, int]] = deque(maxlen=GLOBAL_RECENT)
        self.total = 0  # (global sequence, market index, seq) above; total = next global seq
        self._deferred: dict[int, Callable[[], list[tuple[int, float, float, int, str]]]] = {}

    def close(self) -> None:
        self._file.close()

    def defer(
        self, market: int, make: Callable[[], list[tuple[int, float, float, int, str]]]
    ) -> None:
        """Trades of a market written only when first read: `make()` gives them, oldest first.

        Old markets of a big world (closed before it starts) get their trades
        this way, so building the world costs nothing per trade; they stay out
        of the venue-wide recent feeds.
        """
        self._deferred[market] = make

    def _materialize(self, market: int) -> None:
        make = self._deferred.pop(market, None)
        if make is not None:
            for ts_ms, price, size, outcome, side in make():
                self.append(market, ts_ms, price, size, outcome, side, recent=False)

    def count(self, market: int) -> int:
        if self._deferred:
            self._materialize(market)
        log = self._logs.get(market)
        return log.count if log else 0

    def append(
        self,
        market: int,
        ts_ms: int,
        price: float,
        size: float,
        outcome: int,
        side: str,
        *,
        recent: bool = True,
    ) -> int:
        """Store one trade; `recent=False` keeps it out of the venue-wide feeds (old trades)."""
        log = self._logs.get(market)
        if log is None:
            log = self._logs[market] = _MarketLog()
        flags = (outcome & 0x0F) | (0x10 if side == "SELL" else 0)
        px = min(10_000, max(0, round(price * 10_000)))
        sz = max(1, round(size * 100))
        log.tail += RECORD.pack(ts_ms, px, sz, flags)
        seq = log.count
        log.count += 1
        if len(log.tail) >= CHUNK * RECORD.size:
            self._file.seek(self._file_end)
            self._file.write(log.tail)
            log.chunks.append(self._file_end)
            self._file_end += len(log.tail)
            log.tail = bytearray()
        if recent:
            self.recent.append((self.total, market, seq))
        self.total += 1
        return seq

    def get(self, market: int, start: int, stop: int) -> list[TradeRecord]:
        """Trades with seq in [start, stop), oldest first."""
        if self._deferred:
            self._materialize(market)
        log = self._logs.get(market)
        if log is None:
            return []
        start, stop = max(0, start), min(stop, log.count)
        out: list[TradeRecord] = []
        size = RECORD.size
        spilled = len(log.chunks) * CHUNK
        seq = start
        while seq < stop:
            if seq >= spilled:
                base = (seq - spilled) * size
                end = (stop - spilled) * size
                data = bytes(log.tail[base:end])
            else:
                k = seq // CHUNK
                upto = min(stop, (k + 1) * CHUNK)
                self._file.seek(log.chunks[k] + (seq - k * CHUNK) * size)
                data = self._file.read((upto - seq) * size)
            for i in range(len(data) // size):
                out.append(_unpack(seq + i, data[i * size : (i + 1) * size]))
            seq += len(data) // size
            if not data:
                break
        return out

    def last(self, market: int) -> TradeRecord | None:
        n = self.count(market)
        return self.get(market, n - 1, n)[0] if n else None
