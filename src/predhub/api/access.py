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
   of the minute's allowance with one upsert and spends it locally, so a
   cached read costs a dictionary lookup, not a round trip; the next chunk is
   reserved in the background while one is still in hand, so requests do not
   queue behind that upsert; near the limit the chunks shrink to single
   requests, and the total never passes the limit.
   Answers carry the IETF draft's `RateLimit-*` headers; past the limit a 429
   with `Retry-After`. Upstream refreshes a request causes are limited the
   same way (a read past that limit is answered from the database, stale).
4. Writes and admin actions, refused or not, go to the audit log once the
   answer is sent: who, the route, the object the handler named, the status
   and the error message.

Keys are checked against the database on writes and admin actions every time;
reads trust a checked key for API_KEY_CACHE_SECONDS, and a change to a key or
its account is announced (NOTIFY predhub_keys) so every process forgets it
at once.
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
from predhub.api.keys import hash_key, presented_key
from predhub.service import accounts
from predhub.service.accounts import REFRESH_GATE, AccountStore, AuditEntry, KeyInfo, Kind
from predhub.service.catalog import DATABASE_UNAVAILABLE
from predhub.service.notify import KEYS_CHANNEL, Listener
from predhub.service.tasks import cancel_and_wait
from predhub.settings import Settings

log = structlog.get_logger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Reads that are POSTs only because their id lists can be long.
READ_POSTS = frozenset({"/v1/prices", "/api/markets/prices"})
# Always open: probes, metrics and the documentation.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json", "/"})
WINDOW_SECONDS = 60
CHUNK_SHARE = 20  # a reservation takes at most 1/20 of a minute's allowance
MAX_CHUNK = 500
FLUSH_SECONDS = 5.0
SETTINGS_KEY_ID = 0  # the ADMIN_API_KEY setting counts as key 0
MAX_CACHED_KEYS = 100_000
MAX_ERROR_BODY = 4096


def _window(now: float) -> int:
    return int(now // WINDOW_SECONDS)


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
    tokens: int = 0  # reserved in the database, not spent yet
    used: int = 0  # the minute's total in the database at the last reservation
    exhausted: bool = False
    ahead: bool = False  # a reservation ahead is under way
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Limiter:
    """Per-key, per-minute limits shared by every process through `ops.rate_counts`."""

    def __init__(self, store: AccountStore) -> None:
        self.store = store
        self._state: dict[tuple[int, str], _Allowance] = {}
        self._ahead: set[asyncio.Task[None]] = set()

    def _allowance(self, key_id: int, kind: Kind, window: int) -> _Allowance:
        allowance = self._state.get((key_id, kind))
        if allowance is None:
            if len(self._state) > MAX_CACHED_KEYS:
                self._state.clear()
            allowance = self._state[(key_id, kind)] = _Allowance()
        if allowance.window != window:
            allowance.window, allowance.tokens, allowance.used = window, 0, 0
            allowance.exhausted = False
        return allowance

    def take_now(self, key_id: int, kind: Kind, limit: int, n: int = 1) -> Verdict | None:
        """Spend from what this process holds; None (nothing spent) when that is not
        enough and the database must be asked (`take`)."""
        now = time.time()
        window = _window(now)
        allowance = self._allowance(key_id, kind, window)
        if allowance.tokens < n:
            return None
        allowance.tokens -= n
        if not allowance.ahead and self._ahead_due(allowance, limit):
            self._reserve_ahead(allowance, key_id, kind, limit, window)
        remaining = max(0, limit - (allowance.used - allowance.tokens))
        return Verdict(
            True, limit, remaining, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        )

    async def take(self, key_id: int, kind: Kind, limit: int, n: int = 1) -> Verdict:
        verdict = self.take_now(key_id, kind, limit, n)
        if verdict is not None:
            return verdict
        now = time.time()
        window = _window(now)
        allowance = self._allowance(key_id, kind, window)
        if not allowance.exhausted:
            async with allowance.lock:
                if allowance.window == window and allowance.tokens < n:
                    await self._reserve(allowance, key_id, kind, limit, n, window)
        verdict = self.take_now(key_id, kind, limit, n)
        reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        return verdict if verdict is not None else Verdict(False, limit, 0, reset)

    @staticmethod
    def _chunk(allowance: _Allowance, limit: int, n: int) -> int:
        return max(n, min(limit // CHUNK_SHARE, MAX_CHUNK, limit - allowance.used))

    @staticmethod
    def _ahead_due(allowance: _Allowance, limit: int) -> bool:
        """Less than a chunk is left in hand (so a busy key keeps one to two chunks: time
        enough for the upsert on a loaded server), and the minute's allowance is far from
        its end: near it, chunks shrink to single requests reserved when needed, so no
        process holds tokens another process could have used."""
        full = min(limit // CHUNK_SHARE, MAX_CHUNK)
        return (
            full >= 2
            and allowance.tokens < full
            and allowance.used + 2 * full <= limit
            and not allowance.exhausted
        )

    def _reserve_ahead(
        self, allowance: _Allowance, key_id: int, kind: Kind, limit: int, window: int
    ) -> None:
        """Reserve the next chunk while this one still lasts, so a busy key's requests
        never wait for the database round trip (only a key's first request of a
        minute does)."""

        async def ahead() -> None:
            try:
                async with allowance.lock:
                    if allowance.window == window and self._ahead_due(allowance, limit):
                        await self._reserve(allowance, key_id, kind, limit, 1, window)
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
        self, allowance: _Allowance, key_id: int, kind: Kind, limit: int, n: int, window: int
    ) -> None:
        start = datetime.fromtimestamp(window * WINDOW_SECONDS, UTC)
        chunk = self._chunk(allowance, limit, n)
        for want in dict.fromkeys((chunk, n)):
            total = await self.store.reserve(key_id, kind, start, want, limit)
            if total is not None:
                allowance.tokens += want
                allowance.used = total
                return
        allowance.used = await self.store.window_hits(key_id, kind, start)
        allowance.exhausted = True


class KeyCache:
    """Checked keys by their hash, forgotten on a NOTIFY about them or after a while."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._by_hash: dict[str, tuple[KeyInfo | None, float]] = {}
        self._hash_of: dict[int, str] = {}

    def get(self, key_hash: str) -> tuple[bool, KeyInfo | None]:
        found = self._by_hash.get(key_hash)
        if found is None or found[1] < time.monotonic():
            return False, None
        return True, found[0]

    def put(self, key_hash: str, info: KeyInfo | None) -> None:
        if self.seconds <= 0:
            return
        if len(self._by_hash) > MAX_CACHED_KEYS:
            self.clear()
        self._by_hash[key_hash] = (info, time.monotonic() + self.seconds)
        if info is not None:
            self._hash_of[info.id] = key_hash

    def forget(self, _channel: str, key_ids: list[int]) -> None:
        for key_id in key_ids:
            key_hash = self._hash_of.pop(key_id, None)
            if key_hash is not None:
                self._by_hash.pop(key_hash, None)

    def clear(self) -> None:
        self._by_hash.clear()
        self._hash_of.clear()


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str


class AccessControl:
    """One API process's checks: keys, levels, limits, last-used times and the audit."""

    def __init__(
        self, store: AccountStore, settings: Settings, listener: Listener | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.keys = KeyCache(settings.api_key_cache_seconds)
        self.limiter = Limiter(store)
        self._used: dict[int, float] = {}  # key id -> Unix time of its last use
        self._hashes: dict[str, str] = {}  # presented key -> its sha256, worked out once
        self._gates: dict[tuple[int, str], accounts.RefreshGate] = {}
        self._flusher: asyncio.Task[None] | None = None
        configured = settings.admin_api_key.get_secret_value() if settings.admin_api_key else ""
        self._settings_hash = hash_key(configured) if configured else None
        if listener is not None:
            listener.subscribe(self._on_notify)
            listener.on_reset(self.keys.clear)

    def _on_notify(self, channel: str, ids: list[int]) -> None:
        if channel == KEYS_CHANNEL:
            self.keys.forget(channel, ids)

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_loop(), name="predhub-key-usage")

    async def stop(self) -> None:
        await cancel_and_wait(self._flusher)
        self._flusher = None
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
    async def identify(self, presented: str, *, fresh: bool) -> KeyInfo | Refusal:
        """The key's stored facts, or why it is refused; `fresh` skips the cache."""
        key_hash = self._hashes.get(presented)
        if key_hash is None:
            if len(self._hashes) > MAX_CACHED_KEYS:
                self._hashes.clear()
            key_hash = self._hashes[presented] = hash_key(presented)
        if self._settings_hash is not None and hmac.compare_digest(key_hash, self._settings_hash):
            return KeyInfo(
                SETTINGS_KEY_ID, "ADMIN_API_KEY", None, "ADMIN_API_KEY", "admin", None, None
            )
        hit, info = (False, None) if fresh else self.keys.get(key_hash)
        if not hit:
            info = await self.store.key_by_hash(key_hash)
            self.keys.put(key_hash, info)
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

    def admit_read(self, presented: str) -> tuple[KeyInfo, Verdict] | None:
        """A read by a key checked recently, admitted without awaiting anything: the key
        cached and usable, its level allowed to read, its allowance held here. None
        sends the request down the full path (which also says why it is refused)."""
        key_hash = self._hashes.get(presented)
        if key_hash is None:
            return None
        hit, info = self.keys.get(key_hash)
        if (
            not hit
            or info is None
            or info.revoked_at is not None
            or info.level == "blocked"
            or (info.expires_at is not None and info.expires_at <= datetime.now(UTC))
            or not self.permits(info, "read")
        ):
            return None
        verdict = self.limiter.take_now(
            info.id, "requests", self.settings.level_limits(info.level)[0]
        )
        if verdict is None:
            return None
        self._used[info.id] = time.time()
        return info, verdict

    def permits(self, info: KeyInfo, need: str) -> bool:
        return need in self.settings.access_level_permissions.get(info.level, frozenset())

    def used(self, info: KeyInfo) -> None:
        self._used[info.id] = time.time()

    async def take(self, info: KeyInfo, kind: Kind, n: int = 1) -> Verdict:
        requests, refreshes = self.settings.level_limits(info.level)
        limit = requests if kind == "requests" else refreshes
        if limit <= 0:
            return Verdict(False, 0, 0, 60)
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


_STATIC_HEADERS: dict[int, tuple[tuple[bytes, bytes], tuple[bytes, bytes]]] = {}


def _limit_headers(verdict: Verdict) -> list[tuple[bytes, bytes]]:
    """The IETF draft's RateLimit fields (draft-ietf-httpapi-ratelimit-headers); the
    limit's two fields are encoded once per limit, as every answer carries them."""
    static = _STATIC_HEADERS.get(verdict.limit)
    if static is None:
        static = _STATIC_HEADERS[verdict.limit] = (
            (b"ratelimit-limit", str(verdict.limit).encode()),
            (b"ratelimit-policy", f"{verdict.limit};w={WINDOW_SECONDS}".encode()),
        )
    return [
        static[0],
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset).encode()),
        static[1],
    ]


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
        if admitted is not None:
            await self._pass(scope, receive, send, control, *admitted)
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
        if not audited:
            await self._pass(scope, receive, send, control, found, verdict)
            return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        extra = _limit_headers(verdict)
        status = 0
        error_body = bytearray()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
            elif audited and status >= 400 and len(error_body) < MAX_ERROR_BODY:
                error_body.extend(message.get("body", b"")[:MAX_ERROR_BODY])
            await send(message)

        scope.setdefault("state", {})["key"] = found
        token = REFRESH_GATE.set(control.refresh_gate(found))
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REFRESH_GATE.reset(token)
            if audited:
                await control.audit(
                    AuditEntry(
                        method=method,
                        route=_route(scope),
                        status=status or 500,
                        key=found,
                        object=_object(scope),
                        error=_error_message(bytes(error_body)) if status >= 400 else None,
                    )
                )

    async def _pass(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        control: AccessControl,
        found: KeyInfo,
        verdict: Verdict,
    ) -> None:
        """An admitted read: on to the app, with the key in the state and the limit's headers."""
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        extra = _limit_headers(verdict)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        scope.setdefault("state", {})["key"] = found
        token = REFRESH_GATE.set(control.refresh_gate(found))
        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            REFRESH_GATE.reset(token)

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
