"""Benchmarks: scripts that measure (never assert) and report medians and p95s."""
