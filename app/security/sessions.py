"""Local session JWTs and one-time launch tokens (HS256, PyJWT).

* A session token has `typ=session`, `sub` (the user id every query is scoped to),
  `iat`, `exp` and `jti`; it is accepted as `Authorization: Bearer` or as the httpOnly
  session cookie, and a cookie past half its life is silently re-issued.
* A launch token is an opaque 256-bit random string (URL-safe, so it fits Jupyter-style
  `?launch=` links) that expires after 60 s. Only its SHA-256 is kept, in memory, and it
  is removed when used: a token works at most once and only in the process that printed
  it (a restart invalidates every unused link).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "taskchat-local"
LAUNCH_TTL_SECONDS = 60.0
# Expired launch tokens are kept this long, to say "expired" rather than "used".
_LEEWAY_SECONDS = 300


class TokenError(Exception):
    """A token that must not be accepted; `str()` is a plain message for the person."""


@dataclass(frozen=True)
class Session:
    user_id: str
    issued_at: float
    expires_at: float
    token_id: str

    def past_half_life(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now >= self.issued_at + (self.expires_at - self.issued_at) / 2


def _jwt() -> ModuleType:
    # Imported on first use, not at start-up: PyJWT loads `cryptography` (for algorithms
    # TaskChat never uses), ~25 ms the server would spend before it answers at all.
    import jwt

    return jwt


class SessionManager:
    """Mints and checks tokens. The signing secret may be given as a loader: reading it
    from the keyring is a D-Bus round trip (~60 ms with a real Secret Service), which
    `warm_up` takes off the start-up path; the first token minted or checked waits for it.
    """

    def __init__(
        self,
        secret: bytes | Callable[[], bytes],
        *,
        session_seconds: float,
        default_user_id: str,
    ) -> None:
        self._secret_loader = secret if callable(secret) else None
        self._secret = None if callable(secret) else _checked(secret)
        self._secret_lock = threading.Lock()
        self.session_seconds = float(session_seconds)
        self.default_user_id = default_user_id
        # Profile ids this install gave up (joining a sync space adopts the space's):
        # sessions minted under them act as the current profile.
        self.aliases: dict[str, str] = {}
        self._pending_launch: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def signing_secret(self) -> bytes:
        with self._secret_lock:  # one load, however many requests ask at once
            if self._secret is None:
                assert self._secret_loader is not None
                self._secret = _checked(self._secret_loader())
            return self._secret

    def warm_up(self) -> None:
        """Load the signing secret and PyJWT in a background thread (from the lifespan)."""

        def load() -> None:
            try:
                _jwt()
                self.signing_secret()
            except Exception:  # the first request that needs it raises it again
                log.exception("could not load the session signing secret")

        threading.Thread(target=load, name="taskchat-sessions-warm-up", daemon=True).start()

    # ------------------------------------------------------------------ minting
    def _encode(self, typ: str, sub: str, ttl: float, now: float | None = None) -> str:
        now = time.time() if now is None else now
        claims = {
            "iss": ISSUER,
            "typ": typ,
            "sub": sub,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": secrets.token_urlsafe(16),
        }
        return _jwt().encode(claims, self.signing_secret(), algorithm=ALGORITHM)

    def mint_session_token(self, user_id: str | None = None, ttl: float | None = None) -> str:
        ttl = self.session_seconds if ttl is None else ttl
        return self._encode("session", user_id or self.default_user_id, ttl)

    def mint_launch_token(self, ttl: float = LAUNCH_TTL_SECONDS, user_id: str | None = None) -> str:
        now = time.time()
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._prune(now)
            self._pending_launch[_digest(token)] = (now + ttl, user_id or self.default_user_id)
        return token

    # ---------------------------------------------------------------- verifying
    def _decode(self, token: str, typ: str) -> dict:
        jwt = _jwt()
        secret = self.signing_secret()
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("invalid") from exc
        if claims.get("typ") != typ or not isinstance(claims.get("sub"), str):
            raise TokenError("invalid")
        return claims

    def verify_session(self, token: str) -> Session:
        claims = self._decode(token, "session")
        return Session(
            user_id=self.aliases.get(claims["sub"], claims["sub"]),
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
            token_id=str(claims["jti"]),
        )

    def redeem_launch_token(self, token: str) -> str:
        """The user id of a launch token minted here, unexpired and not used before."""
        now = time.time()
        with self._lock:
            entry = self._pending_launch.pop(_digest(token), None)
            if entry is None:
                # Unknown: already used, never minted by this process, or long expired.
                self._prune(now)
                raise TokenError("used")
            until, user_id = entry
            self._prune(now)
        if until < now:
            raise TokenError("expired")
        return self.aliases.get(user_id, user_id)

    def _prune(self, now: float) -> None:
        for key, (until, _user) in list(self._pending_launch.items()):
            if until + _LEEWAY_SECONDS < now:
                del self._pending_launch[key]


def _checked(secret: bytes) -> bytes:
    if len(secret) < 32:
        raise ValueError("the signing secret must be at least 256 bits")
    return secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
