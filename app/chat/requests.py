"""A /api/chatkit body parsed and checked, with ChatKit's request types only (no server)."""

from __future__ import annotations

import typing
from typing import Any

from chatkit.types import ChatKitReq, ThreadsAddUserMessageReq, ThreadsCreateReq
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.errors import DomainError

UNSUPPORTED = {
    "attachments.create": "Attachments are not supported.",
    "attachments.delete": "Attachments are not supported.",
    "input.transcribe": "Dictation (transcription) is not supported.",
    "threads.sync_custom_action": "Widget actions are not supported.",
}
# About ten pages of text: far more than any task request, far less than the body limit.
MESSAGE_MAX_CHARS = 20_000


def request_classes(union: Any) -> list[type[BaseModel]]:
    """The pydantic classes of a (nested, annotated) union of request types."""
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(union):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            found.append(arg)
        else:
            found.extend(request_classes(arg))
    return found


# ChatKitServer.process, the SDK's one public way in, builds a TypeAdapter over ChatKit's
# request union on every request. chatkit.types leaves its 16 request classes without
# their validators (forward references), and an adapter over them does not keep what it
# builds, so every request compiled all 16 again: 2.6 ms of CPU on a quiet machine, 3.6 ms
# in a busy server, before anything was stored or sent. Built once here (~18 ms, when the first
# chat request imports this module; no measurable memory), every later adapter
# reuses them and costs 0.35 ms.
for _request_class in request_classes(ChatKitReq):
    _request_class.model_rebuild()
CHATKIT_REQUEST: TypeAdapter[ChatKitReq] = TypeAdapter(ChatKitReq)


class BadChatRequest(DomainError):
    code = "bad_request"
    status = 400


class NotSupported(DomainError):
    code = "not_supported"
    status = 400


class MessageTooLong(DomainError):
    code = "message_too_long"
    status = 413


def parse(body: bytes) -> ChatKitReq:
    """The one parse of a /api/chatkit body, with TaskChat's checks; raises BadChatRequest."""
    try:
        request = CHATKIT_REQUEST.validate_json(body)
    except ValidationError as exc:
        errors = exc.errors()
        first: dict[str, Any] = dict(errors[0]) if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise BadChatRequest(
            f"Not a valid ChatKit request ({where}: {first.get('msg', '')})."
        ) from None
    if request.type in UNSUPPORTED:
        raise NotSupported(UNSUPPORTED[request.type])
    if isinstance(request, ThreadsCreateReq | ThreadsAddUserMessageReq):
        if request.params.input.attachments:
            raise NotSupported("Attachments are not supported.")
        length = sum(
            len(part.text) for part in request.params.input.content if hasattr(part, "text")
        )
        if length > MESSAGE_MAX_CHARS:
            # Refused before anything is stored or sent: a pasted book would cost real quota.
            raise MessageTooLong(
                f"Your message is {length:,} characters long; the limit is "
                f"{MESSAGE_MAX_CHARS:,}. Shorten it or split it into parts."
            )
    return request
