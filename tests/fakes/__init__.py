"""Test doubles for the chat tests: a fake Gemini server and a ChatKit protocol client."""
