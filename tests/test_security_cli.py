"""`taskchat key set|clear|status` in a real subprocess, without an OS keyring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.gemini import FakeGemini

KEY = "AIza" + "SyCLI-0123456789abcdefghijklmnopqrstu"[:35]


def run(data_dir: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
    environ = {
        k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "TASKCHAT_DATA_DIR")
    }
    environ.update(
        {
            "TASKCHAT_DATA_DIR": str(data_dir),
            "TASKCHAT_KEYRING_BACKEND": "fail",
            # Nothing listens here: Gemini "cannot be reached" unless a test says otherwise.
            "GEMINI_BASE_URL": "http://127.0.0.1:9/v1beta/openai/",
        }
    )
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "app", "key", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


def test_status_without_key_or_keyring(data_dir):
    r = run(data_dir, "status")
    assert r.returncode == 0, r.stderr
    assert "Gemini API key: not set" in r.stdout
    assert "Keyring: NOT available (fail)" in r.stdout


def test_set_without_keyring_refuses_and_explains(data_dir):
    r = run(data_dir, "set", stdin=KEY + "\n")
    assert r.returncode == 3
    assert "NOT saved" in r.stderr
    assert "--plaintext-file" in r.stderr
    assert KEY not in r.stdout + r.stderr
    assert not (data_dir / "gemini-api-key.UNENCRYPTED.txt").exists()


def test_set_plaintext_file_status_and_clear(data_dir):
    r = run(data_dir, "set", "--plaintext-file", "--save-unchecked", stdin=KEY + "\n")
    assert r.returncode == 0, r.stderr
    assert "Couldn't reach Gemini" in r.stderr
    assert "not checked with Gemini yet" in r.stdout
    assert "STORED UNENCRYPTED" in r.stdout
    assert f"ending {KEY[-4:]}" in r.stdout
    assert KEY not in r.stdout + r.stderr
    path = data_dir / "gemini-api-key.UNENCRYPTED.txt"
    assert path.stat().st_mode & 0o777 == 0o600

    r = run(data_dir, "status")
    assert "from " + str(path) in r.stdout
    assert "STORED UNENCRYPTED" in r.stdout

    r = run(data_dir, "clear")
    assert r.returncode == 0
    assert "not set" in r.stdout
    assert not path.exists()


def test_environment_key_is_reported(data_dir):
    r = run(data_dir, "status", GEMINI_API_KEY=KEY)
    assert f"ending {KEY[-4:]}, from the GEMINI_API_KEY environment variable" in r.stdout
    assert KEY not in r.stdout


def test_empty_input_is_an_error(data_dir):
    r = run(data_dir, "set", "--plaintext-file", stdin="\n")
    assert r.returncode == 2
    assert "empty" in r.stderr


def test_key_needs_an_action(data_dir):
    r = run(data_dir)
    assert r.returncode == 2
    assert "set" in r.stderr and "status" in r.stderr


def test_set_checks_the_key_with_gemini(data_dir):
    """Valid → saved; rejected → Gemini's reason, not saved; unreachable → not saved
    unless asked to (a terminal would ask; piped input needs --save-unchecked)."""
    fake = FakeGemini().start()
    path = data_dir / "gemini-api-key.UNENCRYPTED.txt"
    try:
        env = {"GEMINI_BASE_URL": fake.base_url}
        fake.rejected_keys.add(KEY)
        r = run(data_dir, "set", "--plaintext-file", stdin=KEY + "\n", **env)
        assert r.returncode == 4, r.stdout + r.stderr
        assert "Google rejected this key" in r.stderr
        assert "API key not valid. Please pass a valid API key." in r.stderr
        assert "NOT saved" in r.stderr
        assert KEY not in r.stdout + r.stderr
        assert not path.exists()

        fake.rejected_keys.clear()
        r = run(data_dir, "set", "--plaintext-file", stdin=KEY + "\n", **env)
        assert r.returncode == 0, r.stderr
        assert "Gemini accepted the key." in r.stdout
        assert "not checked" not in r.stdout
        assert fake.model_lists[-1].headers["authorization"] == f"Bearer {KEY}"
        assert path.exists()
    finally:
        fake.stop()
    path.unlink()
    r = run(data_dir, "set", "--plaintext-file", stdin=KEY + "\n")
    assert r.returncode == 5
    assert "Couldn't reach Gemini" in r.stderr and "NOT saved" in r.stderr
    assert not path.exists()
    r = run(data_dir, "set", "--plaintext-file", "--no-check", stdin=KEY + "\n")
    assert r.returncode == 0, r.stderr
    assert "not checked with Gemini yet" in r.stdout


def test_set_without_keyring_says_so_before_asking_gemini(data_dir):
    fake = FakeGemini().start()
    try:
        r = run(data_dir, "set", stdin=KEY + "\n", GEMINI_BASE_URL=fake.base_url)
        assert r.returncode == 3
        assert "NOT saved" in r.stderr
        assert fake.model_lists == []
    finally:
        fake.stop()
