"""Sync of the local SQLite store with a PostgreSQL/Neon database shared by a person's devices.

clock.py    hybrid logical clock stamps
capture.py  stamps locally changed fields at commit (the triggers of migration 0003 note them)
local.py    the device side: outbox, field clocks, applying remote rows, the pull cursor
remote.py   the server side: row documents, per-user sequence, push/pull
merge.py    field-level last-writer-wins, tombstones win
service.py  the background loop, status, run-now
crypto.py   end-to-end encryption of rows (AES-256-GCM, HKDF), pairing codes
pairing.py  sync spaces and devices in the database; local steps of pairing
spaces.py   start, join and leave a space (no files to edit), connection check
"""
