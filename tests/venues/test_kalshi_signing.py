"""Kalshi's signed requests, against the simulator over real HTTP and WebSocket.

The simulator checks signatures as Kalshi documents them (RSA-PSS over
timestamp + method + path, a known key id, a timestamp near the wall clock)
and answers a missing or bad one with the venue's 401 body. A key pair the
simulator never saw stands for a wrong key; a clock a minute off for skew.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from predhub.ingest.refs import ref_of
from predhub.sim.testing import SimHandle
from predhub.venues.errors import FatalError, NotSupported
from predhub.venues.kalshi.signing import Signer, message
from predhub.venues.kalshi.venue import KalshiVenue
from predhub.venues.registry import build_venue


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    """A key pair the simulator does not know."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_signature_is_rsa_pss_over_timestamp_method_and_path_without_query(
    stranger_key: rsa.RSAPrivateKey,
) -> None:
    signer = Signer("key-1", stranger_key, clock=lambda: 1703123456.789)
    headers = signer.headers("get", "https://host/trade-api/v2/portfolio/orders?limit=5")
    assert headers["KALSHI-ACCESS-KEY"] == "key-1"
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789"
    assert message(
        "1703123456789", "get", "https://host/trade-api/v2/portfolio/orders?limit=5"
    ) == (b"1703123456789GET/trade-api/v2/portfolio/orders")
    stranger_key.public_key().verify(
        base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"]),
        b"1703123456789GET/trade-api/v2/portfolio/orders",
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    assert "BEGIN" not in repr(signer) and repr(signer) == "Signer(key_id='key-1')"


def _kalshi(sim: SimHandle, **overrides: Any) -> KalshiVenue:
    values: dict[str, Any] = {"http_max_retries": 0, "kalshi_sign_all_requests": True}
    values.update(overrides)
    venue = build_venue("kalshi", sim.settings(**values))
    assert isinstance(venue, KalshiVenue)
    return venue


@pytest.fixture
async def venues() -> AsyncIterator[list[KalshiVenue]]:
    made: list[KalshiVenue] = []
    yield made
    for v in made:
        await v.close()


async def _first_page(venue: KalshiVenue) -> int:
    async for page in venue.list_markets():
        return len(page.items)
    return 0


async def test_good_signature_is_accepted_on_every_rest_call(
    sim: SimHandle, venues: list[KalshiVenue]
) -> None:
    venues.append(venue := _kalshi(sim))
    assert venue.signing() == "the WebSocket handshake and every REST call"
    assert await _first_page(venue) > 0
    assert sim.count("kalshi", status=401) == 0


async def test_a_wrong_key_unknown_key_id_or_skewed_clock_is_refused_with_kalshis_401(
    sim: SimHandle, venues: list[KalshiVenue], stranger_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(_pem(stranger_key))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kalshi_private_key_file": str(wrong)}, "INCORRECT_API_KEY_SIGNATURE"),
        ({"kalshi_api_key": "nobody-knows-this-id"}, "NOT_FOUND"),
    ]
    for overrides, details in cases:
        venues.append(venue := _kalshi(sim, **overrides))
        with pytest.raises(FatalError) as err:
            await _first_page(venue)
        assert err.value.status == 401
        assert "authentication_error" in str(err.value) and details in str(err.value)
    venues.append(skewed := _kalshi(sim))
    assert skewed.signer is not None
    skewed.signer._clock = lambda: time.time() - 60  # a minute behind
    with pytest.raises(FatalError, match="header_timestamp_expired") as err:
        await _first_page(skewed)
    assert err.value.status == 401


async def test_without_credentials_public_endpoints_work_and_there_is_no_stream(
    sim: SimHandle, venues: list[KalshiVenue]
) -> None:
    venues.append(venue := _kalshi(sim, kalshi_api_key=None, kalshi_private_key_file=None))
    assert venue.signer is None and venue.signing() is None
    assert not venue.can_stream()
    assert await _first_page(venue) > 0
    with pytest.raises(NotSupported, match="KALSHI_PRIVATE_KEY_FILE"):
        venue.stream([])


async def test_unsigned_or_badly_signed_websocket_handshake_gets_the_venues_401(
    sim: SimHandle, stranger_key: rsa.RSAPrivateKey
) -> None:
    url = sim.env["KALSHI_WS_URL"]
    with pytest.raises(InvalidStatus) as err:
        async with connect(url):
            pass
    assert err.value.response.status_code == 401
    assert b"signature_is_missing_from_headers" in (err.value.response.body or b"")
    stranger = Signer("sim-test-key", stranger_key)
    with pytest.raises(InvalidStatus) as err:
        async with connect(url, additional_headers=stranger.headers("GET", url)):
            pass
    assert err.value.response.status_code == 401
    assert b"INCORRECT_API_KEY_SIGNATURE" in (err.value.response.body or b"")


async def test_refusals_name_the_venues_answer_never_the_key(
    sim: SimHandle, venues: list[KalshiVenue], stranger_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """What a refused REST call and a refused handshake raise holds the venue's answer
    and nothing of the key (logs are checked by the API's secrets test, which signs)."""
    wrong = tmp_path / "wrong.pem"
    pem = _pem(stranger_key)
    wrong.write_bytes(pem)
    venues.append(venue := _kalshi(sim, kalshi_private_key_file=str(wrong)))
    market_ref = None
    with pytest.raises(FatalError) as rest_err:
        await _first_page(venue)
    venues.append(good := _kalshi(sim))
    async for page in good.list_markets():
        market_ref = ref_of(page.items[0])
        break
    assert market_ref is not None
    with pytest.raises(FatalError) as ws_err:
        async for _update in venue.stream([market_ref]):
            pass
    assert ws_err.value.status == 401
    assert "INCORRECT_API_KEY_SIGNATURE" in str(rest_err.value)
    assert "INCORRECT_API_KEY_SIGNATURE" in str(ws_err.value)
    text = str(rest_err.value) + str(ws_err.value)
    body_lines = [line for line in pem.decode().splitlines()[1:-1] if line]
    for secret in body_lines:
        assert secret not in text
