"""Access control: who is asking, what their level may do, how much of it, and the audit.

One pure ASGI middleware, outside the cached-read fast path, so every request
(the fast path's included) passes it:

1. The route's need: `admin` under /v1/admin and for a person's decision on a
   match, `write` for other non-GET methods (but the batch price read, a POST
   for its long id list), else `read`. Reads without a key pass unless
   API_REQUIRE_KEYS is set; writes and admin actions always need one (401).
   This is the only check of a key: the routes read what it found from the
   request's state (`key`), and never parse or look the key up again.
2. The key (X-API-Key or `Authorization: Bearer`): unknown, revoked or expired
   is a 401 saying which; a blocked account is a 403 saying so; a level
   without the permission (ACCESS_LEVEL_PERMISSIONS) is a 403.
3. The level's per-minute limit (ACCESS_LEVEL_LIMITS), counted per key in the
   database so it holds across every API process. A process reserves a chunk
   of the minute's allowance with one upsert and spends it locally; the next
   chunk is reserved in the background while one is still in hand, and a
   chunk is sized to what the key spent here lately (about CHUNK_SECONDS of
   it, at most 1/CHUNK_SHARE of the minute's allowance), so a busy key's
   reads cost an in-memory decrement and about one upsert per CHUNK_SECONDS.
   Near the limit the chunks shrink to single requests, and the total never
   passes the limit. Answers carry the IETF draft's `RateLimit-*` headers;
   past the limit a 429 with `Retry-After`. Upstream refreshes a request
   causes are limited the same way (a read past that limit is answered from
   the database, stale).
4. Writes and admin actions, refused or not, go to the audit log once the
   answer is sent: who, the route, the object the handler named, the status
   and the error message. Reads are not audited.

Keys are checked against the database on writes and admin actions every time.
A read by a key checked before costs no round trip: the check is kept in
memory, a change to a key or its account is announced (NOTIFY predhub_keys,
from a trigger) so every process forgets it at once, a lost LISTEN connection
forgets them all, and a check older than API_KEY_CACHE_SECONDS is redone in
the background (the read it was due on goes on).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from predhub.api.guards import ADMIN_PREFIX, reject
from predhub.api.http import ANSWER_FIELDS
from predhub.api.keys import hash_key, presented_key
from predhub.service import accounts
from predhub.service.accounts import REFRESH_GATE, AccountStore, AuditEntry, KeyInfo, Kind
from predhub.service.catalog import DATABASE_UNAVAILABLE
from predhub.service.notify import KEYS_CHANNEL, Listener
from predhub.settings import Settings
from predhub.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads that are POSTs only because their id lists can be long.
READ_POSTS = frozenset({"/v1/prices", "/api/markets/prices"})
# Always open: probes, metrics and the documentation.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/"})
WINDOW_SECONDS = 60
CHUNK_SHARE = 20  # a reservation takes at most 1/20 of a minute's allowance
BASE_CHUNK = 500  # a reservation's size before the key's pace here is known
CHUNK_SECONDS = 2.0  # later ones last about this long at the key's pace here
FLUSH_SECONDS = 5.0
SETTINGS_KEY_ID = 0  # the ADMIN_API_KEY setting counts as key 0
MAX_CACHED_KEYS = 100_000
MAX_ERROR_BODY = 4096


@dataclass(slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends


@dataclass(slots=True)
class _Allowance:
    """One key's allowance of one kind in this process for the current minute."""

    window: int = -1
    ends: float = 0.0  # Unix time the window ends
    tokens: int = 0  # reserved in the database, not spent yet
    used: int = 0  # the minute's total in the database at the last reservation
    granted: int = 0  # reserved by this process this minute
    chunk: int = 0  # the last reservation's size
    pace: float = 0.0  # requests a second spent here, measured between reservations
    mark: float = 0.0  # when the pace was last measured
    marked: int = 0  # what had been spent this minute then
    exhausted: bool = False
    ahead: bool = False  # a reservation ahead is under way
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def roll(self, now: float) -> None:
        """A new minute: nothing in hand, nothing spent (the pace is kept)."""
        self.window = int(now // WINDOW_SECONDS)
        self.ends = (self.window + 1) * WINDOW_SECONDS
        self.tokens = self.used = self.granted = self.marked = 0
        self.mark = now
        self.exhausted = False

    def verdict(self, allowed: bool, limit: int, now: float) -> Verdict:
        remaining = max(0, limit - (self.used - self.tokens)) if allowed else 0
        return Verdict(allowed, limit, remaining, max(1, math.ceil(self.ends - now)))


class Limiter:
    """Per-key, per-minute limits shared by every process through `ops.rate_counts`."""

    def __init__(self, store: AccountStore) -> None:
        self.store = store
        self._state: dict[tuple[int, str], _Allowance] = {}
        self._ahead: set[asyncio.Task[None]] = set()

    def allowance(self, key_id: int, kind: Kind) -> _Allowance:
        found = self._state.get((key_id, kind))
        if found is None:
            if len(self._state) > MAX_CACHED_KEYS:
                self._state.clear()
            found = self._state[(key_id, kind)] = _Allowance()
        return found

    def take_now(
        self, allowance: _Allowance, key_id: int, kind: Kind, limit: int, now: float, n: int = 1
    ) -> bool:
        """Spend `n` from what this process holds; False (nothing spent) when that is not
        enough and the database must be asked (`take`)."""
        if now >= allowance.ends:
            allowance.roll(now)
        if allowance.tokens < n:
            return False
        allowance.tokens -= n
        if (
            allowance.tokens < allowance.chunk
            and not allowance.ahead
            and self._ahead_due(allowance, limit)
        ):
            self._reserve_ahead(allowance, key_id, kind, limit)
        return True

    async def take(self, key_id: int, kind: Kind, limit: int, n: int = 1) -> Verdict:
        allowance = self.allowance(key_id, kind)
        for _ in range(2):  # twice: a minute may end while the database is asked
            now = time.time()
            if self.take_now(allowance, key_id, kind, limit, now, n):
                return allowance.verdict(True, limit, now)
            if allowance.exhausted:
                break
            window = allowance.window
            async with allowance.lock:
                if allowance.window == window and allowance.tokens < n:
                    await self._reserve(allowance, key_id, kind, limit, n)
        now = time.time()
        if self.take_now(allowance, key_id, kind, limit, now, n):
            return allowance.verdict(True, limit, now)
        return allowance.verdict(False, limit, now)

    @staticmethod
    def _chunk(allowance: _Allowance, limit: int, n: int, now: float) -> int:
        """About CHUNK_SECONDS of the key's pace here (BASE_CHUNK until it is known), at most
        1/CHUNK_SHARE of the minute's allowance and what is left of it."""
        spent = allowance.granted - allowance.tokens
        if now - allowance.mark >= 0.05 and spent > allowance.marked:
            allowance.pace = (spent - allowance.marked) / (now - allowance.mark)
            allowance.mark, allowance.marked = now, spent
        want = max(BASE_CHUNK, math.ceil(allowance.pace * CHUNK_SECONDS))
        return max(n, min(limit // CHUNK_SHARE, want, limit - allowance.used))

    @staticmethod
    def _ahead_due(allowance: _Allowance, limit: int) -> bool:
        """Less than a chunk is left in hand (so a busy key keeps one to two chunks: time
        enough for the upsert on a loaded server), and the minute's allowance is far from
        its end: near it, chunks shrink to single requests reserved when needed, so no
        process holds tokens another process could have used."""
        chunk = allowance.chunk
        return (
            chunk >= 2
            and allowance.tokens < chunk
            and allowance.used + 2 * chunk <= limit
            and not allowance.exhausted
        )

    def _reserve_ahead(self, allowance: _Allowance, key_id: int, kind: Kind, limit: int) -> None:
        """Reserve the next chunk while this one still lasts, so a busy key's requests
        never wait for the database round trip (only a key's first request of a
        minute does)."""
        window = allowance.window

        async def ahead() -> None:
            try:
                async with allowance.lock:
                    if allowance.window == window and self._ahead_due(allowance, limit):
                        await self._reserve(allowance, key_id, kind, limit, 1)
            finally:
                allowance.ahead = False

        allowance.ahead = True
        task = asyncio.get_running_loop().create_task(ahead())
        self._ahead.add(task)
        task.add_done_callback(self._reserved_ahead)

    def _reserved_ahead(self, task: asyncio.Task[None]) -> None:
        self._ahead.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("api.rate_reserve_failed", error=repr(task.exception()))

    async def _reserve(
        self, allowance: _Allowance, key_id: int, kind: Kind, limit: int, n: int
    ) -> None:
        """A chunk (or, when that does not fit, `n`) of the current minute from the
        database; tokens of a minute that ended meanwhile are not kept."""
        window = allowance.window
        start = datetime.fromtimestamp(window * WINDOW_SECONDS, UTC)
        chunk = self._chunk(allowance, limit, n, time.time())
        for want in dict.fromkeys((chunk, n)):
            total = await self.store.reserve(key_id, kind, start, want, limit)
            if allowance.window != window:
                return
            if total is not None:
                allowance.tokens += want
                allowance.granted += want
                allowance.chunk = want
                allowance.used = total
                return
        used = await self.store.window_hits(key_id, kind, start)
        if allowance.window == window:
            allowance.used = used
            allowance.exhausted = True


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str


_RESET_FIELDS = [(b"ratelimit-reset", str(s).encode()) for s in range(WINDOW_SECONDS + 1)]


def _limit_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """The IETF draft's RateLimit fields (draft-ietf-httpapi-ratelimit-headers)."""
    return [
        (b"ratelimit-limit", str(verdict.limit).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset).encode()),
        (b"ratelimit-policy", f"{verdict.limit};w={WINDOW_SECONDS}".encode()),
    ]


@dataclass(slots=True)
class _Reader:
    """What a read by a usable key needs at hand, built once per check: its allowance of
    requests, its limit with the two header fields that only depend on it, its gate."""

    info: KeyInfo
    allowance: _Allowance
    limit: int
    expires: float  # Unix time the key expires (inf: never)
    gate: accounts.RefreshGate
    limit_field: tuple[bytes, bytes]
    policy_field: tuple[bytes, bytes]

    def headers(self, now: float) -> list[tuple[bytes, bytes]]:
        """The RateLimit fields of a read just admitted (so the minute ends within 60 s
        from `now`): what `_limit_headers` gives, built from parts made once."""
        allowance = self.allowance
        remaining = self.limit - allowance.used + allowance.tokens
        return [
            self.limit_field,
            (b"ratelimit-remaining", str(remaining).encode() if remaining > 0 else b"0"),
            _RESET_FIELDS[math.ceil(allowance.ends - now)],
            self.policy_field,
        ]


@dataclass(slots=True)
class _Check:
    """A presented key as last checked against the database."""

    info: KeyInfo | None  # None: no such key
    key_hash: str
    until: float  # Unix time after which it is checked again
    reader: _Reader | None = None  # when the key may read
    rechecking: bool = False


class AccessControl:
    """One API process's checks: keys, levels, limits, last-used times and the audit."""

    def __init__(
        self, store: AccountStore, settings: Settings, listener: Listener | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.limiter = Limiter(store)
        self._checks: dict[bytes, _Check] = {}  # by the presented key
        self._presented: dict[int, set[bytes]] = {}  # key id -> how it was presented
        self._used: dict[int, float] = {}  # key id -> Unix time of its last use
        self._gates: dict[tuple[int, str], accounts.RefreshGate] = {}
        self._rechecks: set[asyncio.Task[None]] = set()
        self._forgotten = 0  # counts forgets: a look-up that overlapped one is not kept
        self._flusher: asyncio.Task[None] | None = None
        configured = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
        self._settings_hash = hash_key(configured) if configured else None
        if listener is not None:
            listener.subscribe(self._on_notify)
            listener.on_reset(self.forget_all)

    def _on_notify(self, channel: str, ids: list[int]) -> None:
        if channel == KEYS_CHANNEL:
            self.forget(ids)

    def forget(self, key_ids: list[int]) -> None:
        """Drop the checks of these keys (changed in the database): the next use checks again."""
        self._forgotten += 1
        for key_id in key_ids:
            for presented in self._presented.pop(key_id, ()):
                self._checks.pop(presented, None)

    def forget_all(self) -> None:
        """Drop every check (announcements may have been missed)."""
        self._forgotten += 1
        self._checks.clear()
        self._presented.clear()

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="predhub-key-usage")

    async def stop(self) -> None:
        await cancel_and_wait(self._flusher)
        self._flusher = None
        for task in list(self._rechecks):
            await cancel_and_wait(task)
        with contextlib.suppress(*DATABASE_UNAVAILABLE):
            await self.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except DATABASE_UNAVAILABLE as exc:
                log.warning("api.key_usage_flush_failed", error=repr(exc))

    async def flush(self) -> None:
        """Write last-used times and drop counters of minutes that are over."""
        used, self._used = self._used, {}
        used.pop(SETTINGS_KEY_ID, None)
        await self.store.touch_keys({k: datetime.fromtimestamp(t, UTC) for k, t in used.items()})
        await self.store.prune_rate_counts(
            datetime.now(UTC) - timedelta(seconds=2 * WINDOW_SECONDS)
        )

    # ------------------------------------------------------------ keys
    async def identify(self, presented: bytes, *, fresh: bool) -> KeyInfo | Refusal:
        """The key's stored facts, or why it is refused; `fresh` asks the database even
        when a check is in memory (writes and admin actions)."""
        check = self._checks.get(presented)
        if check is None or fresh or check.until < time.time():
            key_hash = check.key_hash if check else hash_key(presented.decode("ascii"))
            check = await self._check(presented, key_hash)
        return self._verdict_on(check.info)

    async def _check(self, presented: bytes, key_hash: str) -> _Check:
        """Look the key up and keep what was found (the ADMIN_API_KEY setting needs no
        look-up), unless a change was announced meanwhile: the answer may predate it."""
        forgotten = self._forgotten
        if self._settings_hash is not None and hmac.compare_digest(key_hash, self._settings_hash):
            info: KeyInfo | None = KeyInfo(
                SETTINGS_KEY_ID, "ADMIN_API_KEY", None, "ADMIN_API_KEY", "admin", None, None
            )
            until = math.inf
        else:
            info = await self.store.key_by_hash(key_hash)
            until = time.time() + self.settings.api_key_cache_seconds
        check = _Check(info, key_hash, until, self._reader(info))
        keep = self.settings.api_key_cache_seconds > 0 or until == math.inf
        if keep and forgotten == self._forgotten:
            if len(self._checks) > MAX_CACHED_KEYS:
                self._checks.clear()
                self._presented.clear()
            self._checks[presented] = check
            if info is not None:
                self._presented.setdefault(info.id, set()).add(presented)
        return check

    def _verdict_on(self, info: KeyInfo | None) -> KeyInfo | Refusal:
        if info is None:
            return Refusal(401, "unauthorized", "the API key is not known")
        if info.revoked_at is not None:
            return Refusal(
                401, "key_revoked", f"the API key was revoked at {info.revoked_at.isoformat()}"
            )
        if info.expires_at is not None and info.expires_at <= datetime.now(UTC):
            return Refusal(
                401, "key_expired", f"the API key expired at {info.expires_at.isoformat()}"
            )
        if info.level == "blocked":
            return Refusal(403, "blocked", f"the account {info.account!r} is blocked")
        return info

    def _reader(self, info: KeyInfo | None) -> _Reader | None:
        """What admits this key's reads without awaiting anything; None when they cannot
        be admitted that way (the full path says why)."""
        if info is None or isinstance(self._verdict_on(info), Refusal):
            return None
        limit = self.settings.level_limits(info.level)[0]
        if not self.permits(info, "read") or limit <= 0:
            return None
        return _Reader(
            info,
            self.limiter.allowance(info.id, "requests"),
            limit,
            math.inf if info.expires_at is None else info.expires_at.timestamp(),
            self.refresh_gate(info),
            (b"ratelimit-limit", str(limit).encode()),
            (b"ratelimit-policy", f"{limit};w={WINDOW_SECONDS}".encode()),
        )

    def admit_read(self, presented: bytes) -> tuple[_Reader, list[tuple[bytes, bytes]]] | None:
        """A read by a key checked before, admitted without awaiting anything: the key
        usable, its level allowed to read, its allowance held here. None sends the
        request down the full path (which also says why it is refused). A check past
        API_KEY_CACHE_SECONDS is redone in the background meanwhile."""
        check = self._checks.get(presented)
        if check is None or check.reader is None:
            return None
        reader = check.reader
        now = time.time()
        if check.until < now and not check.rechecking:
            self._recheck(presented, check)
        if reader.expires <= now or not self.limiter.take_now(
            reader.allowance, reader.info.id, "requests", reader.limit, now
        ):
            return None
        self._used[reader.info.id] = now
        return reader, reader.headers(now)

    def _recheck(self, presented: bytes, check: _Check) -> None:
        async def recheck() -> None:
            try:
                await self._check(presented, check.key_hash)
            except DATABASE_UNAVAILABLE as exc:
                log.warning("api.key_recheck_failed", error=repr(exc))
            finally:
                check.rechecking = False

        check.rechecking = True
        task = asyncio.get_running_loop().create_task(recheck())
        self._rechecks.add(task)
        task.add_done_callback(self._rechecks.discard)

    async def shows_details(self, key: KeyInfo | None) -> bool:
        """Whether a request may see the texts that can carry internal detail (job errors,
        quarantine reasons): with an admin key, or with none on a hub that has no keys at
        all (no ADMIN_API_KEY, no live key), which is then a private, single-user one."""
        if key is not None:
            return self.permits(key, "admin")
        return self._settings_hash is None and not await self.store.any_live_key()

    def permits(self, info: KeyInfo, need: str) -> bool:
        return need in self.settings.access_level_permissions.get(info.level, frozenset())

    def used(self, info: KeyInfo) -> None:
        self._used[info.id] = time.time()

    async def take(self, info: KeyInfo, kind: Kind, n: int = 1) -> Verdict:
        requests, refreshes = self.settings.level_limits(info.level)
        limit = requests if kind == "requests" else refreshes
        if limit <= 0:
            return Verdict(False, 0, 0, WINDOW_SECONDS)
        return await self.limiter.take(info.id, kind, limit, n)

    def refresh_gate(self, info: KeyInfo) -> accounts.RefreshGate:
        """The gate a key's reads pass before refreshing from a venue (one per key and level,
        made once: a cached read should not build a closure)."""
        found = self._gates.get((info.id, info.level))
        if found is None:
            if len(self._gates) > MAX_CACHED_KEYS:
                self._gates.clear()
            found = self._gates[(info.id, info.level)] = self._make_gate(info)
        return found

    def _make_gate(self, info: KeyInfo) -> accounts.RefreshGate:
        async def gate(markets: int) -> str | None:
            verdict = await self.take(info, "refreshes")
            if verdict.allowed:
                return None
            return (
                f"this key's upstream refresh limit ({verdict.limit} a minute) is spent;"
                f" served from the database, fresh refreshes again in {verdict.reset}s"
            )

        return gate

    async def audit(self, entry: AuditEntry) -> None:
        try:
            await self.store.audit(entry)
        except DATABASE_UNAVAILABLE as exc:  # the answer is sent; the log line keeps the record
            log.warning("api.audit_failed", route=entry.route, status=entry.status, error=repr(exc))


# Admin actions outside /v1/admin: confirming or rejecting a cross-venue match.
ADMIN_ACTIONS = re.compile(r"^/v1/matches/[^/]+/(?:confirm|reject)/?$")


def _need(method: str, path: str) -> str:
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return "admin"
    if method in WRITE_METHODS and ADMIN_ACTIONS.match(path):
        return "admin"
    return "write" if method in WRITE_METHODS and path not in READ_POSTS else "read"


class _Recorder:
    """Passes an audited request's answer on, keeping its status and the start of an
    error's body for the audit entry."""

    __slots__ = ("error_body", "send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.error_body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif self.status >= 400 and len(self.error_body) < MAX_ERROR_BODY:
            self.error_body.extend(message.get("body", b"")[:MAX_ERROR_BODY])
        await self.send(message)


class AccessMiddleware:
    """Keys, levels, limits and the audit of writes and admin actions, before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        state = getattr(getattr(scope.get("app"), "state", None), "api", None)
        control: AccessControl | None = getattr(state, "access", None)
        method = scope.get("method", "GET")
        need = _need(method, scope["path"])
        if control is None:  # not started: reads pass, nothing else does (fail closed)
            if need == "read":
                await self.app(scope, receive, send)
            elif kind == "websocket":
                await send({"type": "websocket.close", "code": 1011})
            else:
                await reject(send, 503, "unavailable", "access control is not running")
            return
        presented = presented_key(scope.get("headers") or [])
        audited = need != "read"
        if presented is None:
            if need == "read" and not control.settings.api_require_keys:
                await self.app(scope, receive, send)
                return
            wanted = "an admin API key" if need == "admin" else "an API key"
            refusal = Refusal(401, "unauthorized", f"{wanted} is required (X-API-Key header)")
            await self._refuse(scope, send, refusal, control, None, audited)
            return
        admitted = None if audited else control.admit_read(presented)
        if admitted is not None:  # the hot path: a read by a key checked before
            reader, fields = admitted
            await self._serve(
                scope, receive, send, reader.info, reader.gate, fields, False, control
            )
            return
        found = await control.identify(presented, fresh=audited)
        if isinstance(found, Refusal):
            await self._refuse(scope, send, found, control, None, audited)
            return
        if not control.permits(found, need):
            refusal = Refusal(
                403, "forbidden", f"the level {found.level!r} may not use {need} routes"
            )
            await self._refuse(scope, send, refusal, control, found, audited)
            return
        control.used(found)
        verdict = await control.take(found, "requests")
        if not verdict.allowed:
            refusal = Refusal(
                429,
                "rate_limited",
                f"this key's limit of {verdict.limit} requests a minute is spent;"
                f" retry in {verdict.reset}s",
            )
            await self._refuse(scope, send, refusal, control, found, audited, verdict)
            return
        gate = control.refresh_gate(found)
        fields = _limit_headers(verdict)
        await self._serve(scope, receive, send, found, gate, fields, audited, control)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        found: KeyInfo,
        gate: accounts.RefreshGate,
        fields: list[tuple[bytes, bytes]],
        audited: bool,
        control: AccessControl,
    ) -> None:
        """An admitted request: on to the app with the key in the state, its refresh gate
        set and the limit's fields asked for on the answer (`ANSWER_FIELDS`: the layers
        that start answers add them); then, for a write or admin action, the audit entry."""
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        scope[ANSWER_FIELDS] = fields
        scope.setdefault("state", {})["key"] = found
        token = REFRESH_GATE.set(gate)
        if not audited:
            try:
                await self.app(scope, receive, send)
            finally:
                REFRESH_GATE.reset(token)
            return
        recorder = _Recorder(send)
        try:
            await self.app(scope, receive, recorder)
        finally:
            REFRESH_GATE.reset(token)
            status = recorder.status
            await control.audit(
                AuditEntry(
                    method=scope.get("method", "GET"),
                    route=_route(scope),
                    status=status or 500,
                    key=found,
                    object=_object(scope),
                    error=_error_message(bytes(recorder.error_body)) if status >= 400 else None,
                )
            )

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        refusal: Refusal,
        control: AccessControl,
        key: KeyInfo | None,
        audited: bool,
        verdict: Verdict | None = None,
    ) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal.message})
        else:
            headers = [] if verdict is None else _limit_headers(verdict)
            if verdict is not None:
                headers.append((b"retry-after", str(verdict.reset).encode()))
            await reject(send, refusal.status, refusal.code, refusal.message, headers=headers)
        if audited:
            await control.audit(
                AuditEntry(
                    method=scope.get("method", "GET"),
                    route=scope["path"],
                    status=refusal.status,
                    key=key,
                    error=refusal.message,
                )
            )


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return str(getattr(route, "path", None) or scope["path"])


def _object(scope: Scope) -> str | None:
    state = scope.get("state")
    value = state.get("audit_object") if isinstance(state, dict) else None
    return None if value is None else str(value)


def _error_message(body: bytes) -> str | None:
    try:
        doc = orjson.loads(body)
        return str(doc["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body.decode("utf-8", "replace")[:500] or None
