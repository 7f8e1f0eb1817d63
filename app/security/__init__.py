"""Local security: session tokens, loopback hardening, and where the Gemini key is kept."""
