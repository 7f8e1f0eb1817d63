"""Local security: session tokens, loopback hardening, and where the Gemini key is kept.

Threat model (a single-user desktop app serving HTTP on 127.0.0.1):

* Other websites open in the person's browser: DNS rebinding is stopped by the Host
  check, CSRF by the Origin / Sec-Fetch-Site check and SameSite=Strict cookies; no CORS
  is offered, and CORP/COOP/frame-ancestors keep responses and the UI from being
  embedded or read cross-origin (middleware.py).
* Other local users / processes that can reach the port: every /api route needs a session
  JWT signed with this install's secret (sessions.py). The launch link is one-time,
  60 s, and only valid in the process that printed it.
* Leaks of the Gemini key: it lives in the OS keyring (keystore.py, keyrings.py), is
  write-only over the API (last 4 characters shown), and logs are redacted (redact.py).
* Cost abuse: per-minute and daily limits on chat turns (limits.py).

Out of scope: malware running as the same OS user (it can read the data folder and ask
the unlocked keyring for secrets).
"""
