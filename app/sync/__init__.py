"""Sync of the local SQLite store with a PostgreSQL/Neon database shared by a person's devices.

clock.py    hybrid logical clock stamps
capture.py  stamps locally changed fields at commit (the triggers of migration 0003 note them)
local.py    the device side: outbox, field clocks, applying remote rows, the pull cursor
remote.py   the server side: row documents, per-user sequence, push/pull
merge.py    field-level last-writer-wins, tombstones win
service.py  the background loop, status, run-now
"""
