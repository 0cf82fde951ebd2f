"""Kalshi's request signing: RSA-PSS over timestamp, method and path.

Kalshi authenticates a request by three headers: `KALSHI-ACCESS-KEY` (the
API key id), `KALSHI-ACCESS-TIMESTAMP` (milliseconds since the epoch) and
`KALSHI-ACCESS-SIGNATURE`, the base64 RSA-PSS signature (SHA-256, MGF1
SHA-256, salt as long as the digest) of `timestamp + METHOD + path`, where
the path runs from the root of the URL and leaves the query out
(`/trade-api/v2/portfolio/orders` for `.../portfolio/orders?limit=5`). The
WebSocket handshake is signed the same way, over `GET` and the socket's path.

The private key stays inside a `Signer`: its `repr` names the key id only,
and nothing here puts the key, or a signature, into a message or a log.
This module imports nothing of predhub, so the descriptor (and through it the
settings) can check a key file when the configuration loads.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_HEADER = "KALSHI-ACCESS-KEY"
SIGNATURE_HEADER = "KALSHI-ACCESS-SIGNATURE"
TIMESTAMP_HEADER = "KALSHI-ACCESS-TIMESTAMP"
HEADERS = (KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER)


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def message(timestamp_ms: str, method: str, url_or_path: str) -> bytes:
    """The signed text: timestamp, upper-case method, and the path without its query."""
    path = urlsplit(url_or_path).path or "/"
    return f"{timestamp_ms}{method.upper()}{path}".encode()


def load_private_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in a PEM file; `ValueError` saying what is wrong, never its content."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(
            f"cannot read the private key file ({exc.strerror or 'unreadable'})"
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(
            "not an unencrypted PEM private key (Kalshi gives one when the API key is made)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key (Kalshi signs with RSA)")
    return key


def check_private_key_file(path: Path) -> None:
    """Settings validation: the file is readable and holds an RSA private key."""
    load_private_key(path)


class Signer:
    """Signs requests with one API key id and its private key."""

    __slots__ = ("_clock", "_key", "key_id")

    def __init__(
        self, key_id: str, key: rsa.RSAPrivateKey, clock: Callable[[], float] = time.time
    ) -> None:
        self.key_id = key_id
        self._key = key
        self._clock = clock

    @classmethod
    def from_file(cls, key_id: str, path: Path) -> Signer:
        return cls(key_id, load_private_key(path))

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"

    def headers(self, method: str, url_or_path: str) -> dict[str, str]:
        """The three headers that authenticate this request, stamped now."""
        ts = str(int(self._clock() * 1000))
        signature = self._key.sign(message(ts, method, url_or_path), _pss(), hashes.SHA256())
        return {
            KEY_HEADER: self.key_id,
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: ts,
        }
