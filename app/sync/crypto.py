"""End-to-end encryption of synced rows: AES-256-GCM per field value, keys from HKDF.

The sync key (16 random bytes) never leaves the person's devices; it travels between them
as the pairing code. From it HKDF-SHA256 derives

* the space id, under which the sync database files the space's rows (it reveals
  nothing about the key, and a device holding the code can find its space), and
* the AES-256-GCM key for every value.

A row as the server sees it keeps its shape — `{"e", "id", "f": {field: [value, hlc,
device]}, "d": [hlc, device] | None}` — so the server can still merge field by field, but
each value is `"e1:" + base64(nonce ‖ ciphertext ‖ tag)` and each tombstone carries a
tag as a third element. The associated data binds a value to its place and its write:
(entity, row id, field, hlc, device). A server that moves a value to another row or
field, re-stamps it as newer, forges a tombstone or edits a byte is caught when the row
is opened; such a row is quarantined (app/sync/service.py), never applied.

Nonces are 8 random bytes chosen per cipher object plus a 32-bit counter (a fresh
prefix when it wraps): unique with overwhelming probability across every device sharing
the key, and ~10x cheaper than asking the OS for 12 random bytes per value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import os
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.errors import InvalidInput

KEY_BYTES = 16
CHECK_BYTES = 4  # a typo in the code is caught before any network round trip
PREFIX = "e1:"
DELETED = "_deleted"
_SALT = b"taskchat-sync-v1"
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
# Letters people mistype for base32 digits and vice versa (the alphabet has no 0, 1, 8, 9).
_CONFUSABLE = str.maketrans({"0": "O", "1": "I", "8": "B", "9": "G"})


class InvalidCode(InvalidInput):
    """A pairing code that is not well formed (wrong length, a typo)."""

    code = "invalid_pairing_code"


class RowAuthError(Exception):
    """A row whose ciphertext or stamps do not authenticate under the sync key."""


# ------------------------------------------------------------------- pairing code


def new_sync_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _check(key: bytes) -> bytes:
    return hashlib.sha256(b"taskchat-pairing-code" + key).digest()[:CHECK_BYTES]


def format_code(key: bytes) -> str:
    """The key as a pairing code: 32 base32 letters in 8 groups of 4 (key + checksum)."""
    text = base64.b32encode(key + _check(key)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_code(code: str) -> bytes:
    """The key in a typed pairing code (case, spaces, dashes and 0/O, 1/I mix-ups forgiven)."""
    if not isinstance(code, str):
        raise InvalidCode("The pairing code must be text.", field="code")
    letters = "".join(ch for ch in code.upper() if ch.isalnum()).translate(_CONFUSABLE)
    size = len(base64.b32encode(bytes(KEY_BYTES + CHECK_BYTES)))
    if len(letters) != size or any(ch not in _B32 for ch in letters):
        raise InvalidCode(
            f"A pairing code has {size} letters and digits in groups of four "
            "(like ABCD-EFGH-…); this one does not. Copy it again from the first device.",
            field="code",
        )
    try:
        raw = base64.b32decode(letters)
    except (binascii.Error, ValueError):
        raise InvalidCode("That pairing code is not valid.", field="code") from None
    key, check = raw[:KEY_BYTES], raw[KEY_BYTES:]
    if not hmac.compare_digest(check, _check(key)):
        raise InvalidCode(
            "That pairing code has a typo (its check letters do not match). "
            "Compare it with the code shown on the first device.",
            field="code",
        )
    return key


def recovery_hint(key: bytes) -> str:
    """Names the code without revealing it: its first and last group."""
    groups = format_code(key).split("-")
    return f"{groups[0]}-…-{groups[-1]}"


# ------------------------------------------------------------------------- keys


def _derive(key: bytes, info: str, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=info.encode()).derive(
        key
    )


def space_id_for(key: bytes) -> str:
    return "s-" + _derive(key, "space id", 16).hex()


@dataclass
class Opened:
    rows: list[dict[str, Any]]
    quarantined: list[tuple[str, str, str]]  # (entity, row id, why)


def _ad(entity: str, row_id: str, field: str, hlc: str, device: str) -> bytes:
    return "\x00".join(("v1", entity, row_id, field, hlc, device)).encode()


class RowCipher:
    """Seals rows before a push and opens them after a pull (thread-safe)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a sync key has 16 bytes")
        self.space_id = space_id_for(key)
        self._aead = AESGCM(_derive(key, "row values", 32))
        self._lock = threading.Lock()
        self._new_prefix()

    def _new_prefix(self) -> None:
        self._prefix = os.urandom(8)
        self._counter = itertools.count()

    def _nonce(self) -> bytes:
        with self._lock:
            n = next(self._counter)
            if n > 0xFFFF_FFFF:
                self._new_prefix()
                n = next(self._counter)
            return self._prefix + struct.pack(">I", n)

    # -- single values ------------------------------------------------------------
    def seal_value(self, value: Any, ad: bytes) -> str:
        nonce = self._nonce()
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        return PREFIX + base64.b64encode(nonce + self._aead.encrypt(nonce, data, ad)).decode()

    def open_value(self, sealed: Any, ad: bytes) -> Any:
        if not isinstance(sealed, str) or not sealed.startswith(PREFIX):
            raise RowAuthError("a value is not encrypted")
        try:
            raw = base64.b64decode(sealed[len(PREFIX) :], validate=True)
            data = self._aead.decrypt(raw[:12], raw[12:], ad)
            return json.loads(data)
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise RowAuthError("a value failed authentication") from exc

    def seal_blob(self, payload: dict[str, Any], purpose: str) -> str:
        return self.seal_value(payload, _ad("meta", purpose, "", "", ""))

    def open_blob(self, sealed: str, purpose: str) -> Any:
        return self.open_value(sealed, _ad("meta", purpose, "", "", ""))

    def _tomb_tag(self, entity: str, row_id: str, hlc: str, device: str) -> str:
        return self.seal_value(None, _ad(entity, row_id, DELETED, hlc, device))

    # -- rows ---------------------------------------------------------------------
    def seal_rows(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            entity, row_id = row["e"], row["id"]
            fields = {
                name: [self.seal_value(w[0], _ad(entity, row_id, name, w[1], w[2])), w[1], w[2]]
                for name, w in (row.get("f") or {}).items()
            }
            d = row.get("d")
            sealed_d = [d[0], d[1], self._tomb_tag(entity, row_id, d[0], d[1])] if d else None
            out.append({**row, "f": fields, "d": sealed_d})
        return out

    def open_row(self, row: dict[str, Any], wanted: set[str] | None = None) -> dict[str, Any]:
        """The row with its values decrypted; `wanted` (None: all) limits which fields are
        opened — the others keep their stamps and get the value None (not applied)."""
        entity, row_id = row["e"], row["id"]
        fields: dict[str, list[Any]] = {}
        for name, w in (row.get("f") or {}).items():
            if not (isinstance(w, list) and len(w) == 3):
                raise RowAuthError("a field is malformed")
            hlc, device = w[1], w[2]
            if not (isinstance(hlc, str) and isinstance(device, str)):
                raise RowAuthError("a field stamp is malformed")
            if wanted is None or name in wanted:
                value = self.open_value(w[0], _ad(entity, row_id, name, hlc, device))
            else:
                value = None
            fields[name] = [value, hlc, device]
        d = row.get("d")
        if d:
            if not (isinstance(d, list) and len(d) == 3):
                raise RowAuthError("a tombstone is not signed")
            self.open_value(d[2], _ad(entity, row_id, DELETED, d[0], d[1]))
            d = [d[0], d[1]]
        return {**row, "f": fields, "d": d}

    def open_rows(
        self,
        rows: Iterable[dict[str, Any]],
        wanted: dict[tuple[str, str], set[str] | None] | None = None,
    ) -> Opened:
        opened: list[dict[str, Any]] = []
        bad: list[tuple[str, str, str]] = []
        for row in rows:
            key = (str(row.get("e")), str(row.get("id")))
            try:
                opened.append(self.open_row(row, None if wanted is None else wanted.get(key)))
            except RowAuthError as exc:
                bad.append((str(key[0]), str(key[1]), str(exc)))
        return Opened(opened, bad)
