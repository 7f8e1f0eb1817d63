"""Database access: engines, column types and migrations."""
