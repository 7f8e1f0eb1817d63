"""Gemini via its OpenAI-compatible endpoint: client, stream fix-up, plain-language errors."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from agents import MaxTurnsExceeded, OpenAIChatCompletionsModel
from openai import AsyncOpenAI

from app.chat.wire import GeminiTransport, SignatureBook
from app.config import Settings
from app.security.keystore import cached_gemini_key, forget_cached_gemini_key, load_gemini_key

log = logging.getLogger(__name__)

# Once an answer has started, a dropped connection is "cut off", not "offline". openai
# reports both as APIConnectionError (or the raw httpx2 error while streaming).
_CUT_OFF_ERRORS = (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)

# A connection opened ahead of a turn (GeminiClients.prepare) gives up this soon:
# it is a head start, not something anyone waits for.
WARM_UP_TIMEOUT = 10.0
# prepare opens a connection again once the last one was used more than half the
# keep-alive ago: by then it may be closed (Google's own idle limit is not documented).
# More recent, it is most likely still open and nothing is sent.
REOPEN_AFTER_SHARE = 0.5


class MissingApiKey(Exception):
    """No Gemini key is configured (neither GEMINI_API_KEY nor the keyring)."""


class GeminiClients:
    """One AsyncOpenAI client (and its connection pool) per key and endpoint settings.

    The key is asked for on every turn (keystore keeps it in memory until it is stored or
    cleared again), so a key added in Settings works without a restart.
    """

    def __init__(self) -> None:
        # Thought signatures outlive a client (a key change builds a new one).
        self.signatures = SignatureBook()
        self._signature: tuple[Any, ...] | None = None
        self._client: AsyncOpenAI | None = None
        self._model: tuple[AsyncOpenAI, OpenAIChatCompletionsModel] | None = None
        self._warm_up: asyncio.Task[bool] | None = None
        # time.monotonic() of the current client's latest request (turn or warm-up).
        self._last_request = -math.inf

    @property
    def current(self) -> AsyncOpenAI | None:
        """The client built for the latest key and settings, None before the first."""
        return self._client

    def get(self, settings: Settings) -> AsyncOpenAI:
        return self._client_for(settings, load_gemini_key(settings))

    @staticmethod
    async def load_key(settings: Settings) -> str | None:
        """The key for this turn: GEMINI_API_KEY or the key kept since the last read need
        no lookup; otherwise it is read off the event loop (a D-Bus round trip to the
        Secret Service on Linux, which blocked every other request meanwhile)."""
        return cached_gemini_key(settings) or await asyncio.to_thread(load_gemini_key, settings)

    @staticmethod
    def _signature_of(settings: Settings, key: str) -> tuple[Any, ...]:
        return (
            key,
            settings.gemini_base_url,
            settings.max_retries,
            settings.request_timeout,
            settings.gemini_keepalive,
        )

    def _new_client(self, settings: Settings, key: str) -> AsyncOpenAI:
        return AsyncOpenAI(
            base_url=settings.gemini_base_url,
            api_key=key,
            max_retries=settings.max_retries,
            timeout=settings.request_timeout,
            # Idle connections are kept settings.gemini_keepalive (120 s) for the next turn.
            # httpx's default (5 s) closed them while the person read a reply or typed the
            # next message, so nearly every turn dialled again: DNS, TCP and TLS, two round
            # trips or more before Gemini saw the request. Should Google's front end close
            # one sooner, the pool sees that when it next takes it and dials a new one.
            # Gemini's wire quirks are fixed in the transport (app/chat/wire.py).
            http_client=openai.DefaultAsyncHttpxClient(
                transport=GeminiTransport(
                    httpx2.AsyncHTTPTransport(
                        limits=httpx2.Limits(
                            max_connections=100,
                            max_keepalive_connections=20,
                            keepalive_expiry=settings.gemini_keepalive,
                        )
                    ),
                    self.signatures,
                )
            ),
        )

    def _client_for(self, settings: Settings, key: str | None) -> AsyncOpenAI:
        if not key:
            raise MissingApiKey
        signature = self._signature_of(settings, key)
        # _signature is None exactly while there is no client (both are set together).
        if self._client is None or signature != self._signature:
            self._install(self._new_client(settings, key), signature)
        assert self._client is not None
        return self._client

    def _install(self, client: AsyncOpenAI, signature: tuple[Any, ...]) -> None:
        self._client, self._signature = client, signature
        self._last_request = -math.inf  # a new pool: no connection yet

    async def prepare(self, settings: Settings) -> bool:
        """Read the key, build its client and start opening its connection to Gemini
        before the next turn needs them. False when there is no key yet (the turn will
        say so).

        Building the client loads the TLS trust store (~40 ms of CPU, done in a thread);
        the key may be a Secret Service round trip. Both were the larger part of what the
        first turn still paid after the rehearsal. The connection (see `warm_up`) is
        opened in the background, and only when none is likely to be open still
        (REOPEN_AFTER_SHARE): prepare does not wait for the network.
        """
        key = await self.load_key(settings)
        if not key:
            return False
        signature = self._signature_of(settings, key)
        if signature != self._signature:
            client = await asyncio.to_thread(self._new_client, settings, key)
            if signature == self._signature:
                await client.close()  # a turn built the same client meanwhile: keep that one
            else:
                self._install(client, signature)
        busy = self._warm_up is not None and not self._warm_up.done()
        idle = time.monotonic() - self._last_request
        recent = idle < settings.gemini_keepalive * REOPEN_AFTER_SHARE
        if self._client is not None and not busy and not recent:
            self._last_request = time.monotonic()
            self._warm_up = asyncio.create_task(
                self.warm_up(self._client), name="taskchat-gemini-warm-up"
            )
        return True

    @staticmethod
    async def warm_up(client: AsyncOpenAI) -> bool:
        """Open the connection the next turn will reuse, by listing the models.

        Listing models is Gemini's cheapest authenticated call (no tokens, nothing of the
        person's but the key, which their turn sends anyway) and it leaves the connection
        with its TLS session in the pool. A failure here (offline, a rejected key) only
        loses the head start: the turn meets the same condition and explains it, except
        that a rejected key is read anew from its store first.
        """
        try:
            await client.with_options(max_retries=0, timeout=WARM_UP_TIMEOUT).models.list()
        except openai.OpenAIError as exc:
            log.info("Gemini connection not opened ahead: %s", describe_for_log(exc))
            forget_key_if_rejected(explain(exc, model=""))  # the coming turn reads it anew
            return False
        log.info("Gemini connection opened ahead of the next turn")
        return True

    async def turn_model(self, settings: Settings) -> OpenAIChatCompletionsModel:
        """The model for one chat turn, over this key's client: the same object for as
        long as the client and the model name stay (the agent is built once for it)."""
        client = self._client_for(settings, await self.load_key(settings))
        self._last_request = time.monotonic()  # the turn's request follows
        model = self._model
        if model is None or model[0] is not client or model[1].model != settings.gemini_model:
            built = OpenAIChatCompletionsModel(model=settings.gemini_model, openai_client=client)
            self._model = model = (client, built)
        return model[1]


@dataclass(frozen=True)
class Failure:
    """What the person sees when a turn fails, and whether retrying can help."""

    code: str
    message: str
    allow_retry: bool
    # Seconds after which a retry can succeed (a quota's Retry-After or RetryInfo).
    retry_after: int | None = None

    def effect_data(self) -> dict[str, Any]:
        """What the chat view needs to act on the failure (client_effect "turn_failed")."""
        return {"code": self.code, "retry_after": self.retry_after}


NO_KEY = Failure(
    "no_api_key", "Add your Gemini API key in Settings to start chatting.", allow_retry=False
)
KEY_REJECTED = Failure(
    "key_rejected",
    "Gemini rejected your API key. Check the key in Settings, then try again.",
    allow_retry=True,
)
QUOTA = Failure(
    "quota",
    "Gemini's quota for your key is used up for now. Wait a minute, then try again.",
    allow_retry=True,
)
OFFLINE = Failure(
    "offline",
    "You are offline — your message is saved. Try again when you are connected.",
    allow_retry=True,
)
# The network is there (the name resolved) but Gemini does not answer.
UNREACHABLE = Failure(
    "unreachable",
    "Can't reach Gemini right now — your message is saved. Try again in a moment.",
    allow_retry=True,
)
CUT_OFF = Failure(
    "cut_off",
    "The connection to Gemini broke off before the answer was complete. Try again.",
    allow_retry=True,
)
UPSTREAM = Failure(
    "upstream", "Gemini is having trouble right now. Try again in a moment.", allow_retry=True
)
UNEXPECTED = Failure(
    "unexpected", "Something went wrong while answering. Try again.", allow_retry=True
)


def gemini_error(body: object) -> dict[str, Any]:
    """The `error` object of a Gemini error body (a JSON list of one object, or an object)."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def _mentions_key(error: dict[str, Any]) -> bool:
    text = json.dumps(error).lower()
    return "api_key_invalid" in text or "api key" in text


def _retry_after(exc: openai.APIStatusError) -> int | None:
    """Whole seconds from a Retry-After header in seconds (Gemini sends no HTTP dates),
    else from the body's google.rpc.RetryInfo (`"retryDelay": "20s"`)."""
    try:
        value = exc.response.headers.get("retry-after")
        seconds = float(value) if value else None
    except (AttributeError, ValueError):
        seconds = None
    if seconds is None:
        details = gemini_error(exc.body).get("details")
        for detail in details if isinstance(details, list) else ():
            delay = detail.get("retryDelay") if isinstance(detail, dict) else None
            if isinstance(delay, str) and delay.endswith("s"):
                try:
                    seconds = float(delay[:-1])
                except ValueError:
                    continue
                break
    if seconds is None or not 0 < seconds < 86_400:
        return None
    return max(1, math.ceil(seconds))


def _no_network(exc: BaseException) -> bool:
    """A connection error whose cause is a failed name lookup: no network (or no DNS)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def forget_key_if_rejected(failure: Failure) -> None:
    """After Gemini rejected the key kept in memory, read it from its store next time: it
    may have been replaced outside TaskChat (e.g. in the desktop's password manager)."""
    if failure is KEY_REJECTED:
        forget_cached_gemini_key()


def explain(exc: BaseException, *, model: str, turn_timeout: float | None = None) -> Failure:
    """Map an exception from a chat turn to a Failure the person can act on."""
    if isinstance(exc, MissingApiKey):
        return NO_KEY
    if isinstance(exc, TimeoutError) or isinstance(exc, openai.APITimeoutError):
        seconds = f" {turn_timeout:g} seconds" if turn_timeout else ""
        return Failure(
            "timeout",
            f"Gemini took too long to answer (over{seconds or ' the time limit'}). Try again.",
            allow_retry=True,
        )
    if isinstance(exc, _CUT_OFF_ERRORS) or isinstance(exc.__cause__, _CUT_OFF_ERRORS):
        return CUT_OFF
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return OFFLINE if _no_network(exc) else UNREACHABLE
    if isinstance(exc, openai.APIStatusError):
        error = gemini_error(exc.body)
        status = exc.status_code
        if status in (401, 403) or (status == 400 and _mentions_key(error)):
            return KEY_REJECTED
        if status == 429:
            wait = _retry_after(exc)
            if wait is not None:
                return Failure(
                    QUOTA.code,
                    f"Gemini's quota for your key is used up for now. Try again in {wait} "
                    + ("second." if wait == 1 else "seconds."),
                    allow_retry=True,
                    retry_after=wait,
                )
            return QUOTA
        if status == 404:
            return Failure(
                "model_not_found",
                f'Gemini has no model called "{model}". Choose another model in Settings.',
                allow_retry=False,
            )
        if status >= 500:
            return UPSTREAM
        return Failure(
            "bad_request",
            "Gemini could not handle this request"
            + (f": {error['message']}" if isinstance(error.get("message"), str) else "."),
            allow_retry=True,
        )
    if type(exc) is openai.APIError:
        # An error object inside a 200 stream: Gemini reports the failure mid-answer.
        code = str(gemini_error(exc.body).get("status") or "")
        if code == "RESOURCE_EXHAUSTED":
            return QUOTA
        if code in ("INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED"):
            return UPSTREAM
    if isinstance(exc, MaxTurnsExceeded):
        return Failure(
            "too_many_steps",
            "That needed too many steps, so I stopped. Try asking for less at once.",
            allow_retry=True,
        )
    return UNEXPECTED


def describe_for_log(exc: BaseException) -> str:
    """A log line that names the failure without the request, headers or key."""
    if isinstance(exc, openai.APIStatusError):
        error = gemini_error(exc.body)
        return f"{type(exc).__name__} {exc.status_code} {error.get('status', '')}".strip()
    return type(exc).__name__
