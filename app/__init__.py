"""TaskChat: manage your tasks by chatting with Gemini, stored locally first."""

__version__ = "0.1.0"
