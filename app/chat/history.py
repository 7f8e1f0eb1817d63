"""Turns stored thread items into the model's input, including earlier turns' tool calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agents import TResponseInputItem
from chatkit.agents import ThreadItemConverter
from chatkit.types import (
    AssistantMessageItem,
    HiddenContextItem,
    ThreadItem,
    UserMessageTagContent,
)
from openai.types.responses import (
    EasyInputMessageParam,
    ResponseFunctionToolCallParam,
    ResponseInputTextParam,
)
from openai.types.responses.response_input_item_param import FunctionCallOutput

from app.chat.tools import TOOL_CALL_KEY


def stored_tool_call(item: ThreadItem) -> dict[str, Any] | None:
    """The tool call a hidden item records, if it records one."""
    if isinstance(item, HiddenContextItem) and isinstance(item.content, dict):
        call = item.content.get(TOOL_CALL_KEY)
        if isinstance(call, dict) and call.get("call_id") and call.get("name"):
            return call
    return None


class PlainStringHistory(ThreadItemConverter):
    """ChatKit's converter, fixed for Chat Completions models.

    - Assistant replies become plain string content: the default `output_text` parts are
      rejected by openai-agents' Chat Completions converter ("Unknown content").
    - Hidden tool-call items become function_call + function_call_output pairs, with the
      calls of one batch grouped first, as one assistant message with several tool_calls.
      Their thought signatures (kept in the item, `thought_signature`) go back to Gemini
      through the transport (app/chat/wire.py), whatever the model is called.
    """

    async def assistant_message_to_input(
        self, item: AssistantMessageItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        text = "".join(part.text for part in item.content)
        if not text.strip():
            return None
        return EasyInputMessageParam(type="message", role="assistant", content=text)

    async def tag_to_message_content(self, tag: UserMessageTagContent) -> ResponseInputTextParam:
        # An @-mention from ChatKit's composer: the model gets its visible text. The SDK's
        # default raises, which broke that turn and every later turn of the thread.
        return ResponseInputTextParam(type="input_text", text=tag.text or "")

    async def hidden_context_to_input(
        self, item: HiddenContextItem
    ) -> TResponseInputItem | list[TResponseInputItem] | None:
        if stored_tool_call(item) is not None:
            return None  # emitted in batches by to_agent_input
        if isinstance(item.content, str):
            return await super().hidden_context_to_input(item)
        return None

    async def to_agent_input(
        self, thread_items: Sequence[ThreadItem] | ThreadItem
    ) -> list[TResponseInputItem]:
        items = list(thread_items) if isinstance(thread_items, Sequence) else [thread_items]
        output: list[TResponseInputItem] = []
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            output.extend(
                ResponseFunctionToolCallParam(
                    type="function_call",
                    call_id=c["call_id"],
                    name=c["name"],
                    arguments=c.get("arguments") or "{}",
                )
                for c in batch
            )
            output.extend(
                FunctionCallOutput(
                    type="function_call_output", call_id=c["call_id"], output=c.get("output", "")
                )
                for c in batch
            )
            batch.clear()

        for item in items:
            call = stored_tool_call(item)
            if call is not None:
                batch.append(call)
                continue
            flush()
            output.extend(
                await self._thread_item_to_input_item(item, is_last_message=item is items[-1])
            )
        flush()
        return output
