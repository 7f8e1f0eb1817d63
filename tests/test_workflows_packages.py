"""build.yml's package legs: each OS builds its package, installs it, self-tests the
installed app, signs only with secrets (a notice otherwise) and runs the ChatKit leg."""

from __future__ import annotations

from typing import Any

from tests.test_workflows import load


def steps() -> list[dict[str, Any]]:
    return load()["jobs"]["build"]["steps"]


def step(name_part: str) -> dict[str, Any]:
    found = [s for s in steps() if name_part in s.get("name", "")]
    assert len(found) == 1, f"{name_part!r}: {[s.get('name') for s in found]}"
    return found[0]


def test_each_os_builds_installs_and_self_tests_its_package() -> None:
    for os_name, build, install in (
        ("Linux", "Build the .deb", "Install the .deb"),
        ("macOS", "Build the .dmg", "Install from the .dmg"),
        ("Windows", "Build the installer", "Install per user"),
    ):
        assert step(build)["if"] == f"runner.os == '{os_name}'"
        assert "packaging/package.sh --reuse" in step(build)["run"]
        installed = step(install)
        assert installed["if"] == f"runner.os == '{os_name}'"
        assert "--self-test" in installed["run"] and "SELF-TEST OK" in installed["run"]
    linux = step("Install the .deb")["run"]
    assert "desktop-file-validate" in linux and "appstreamcli validate --no-net" in linux
    # Linux's window is the system's WebKitGTK, which the .deb depends on.
    assert "backend=gtk" in linux and "gir1.2-webkit2-4.1" in linux
    assert "/CURRENTUSER" in step("Install per user")["run"]


def test_signing_runs_only_with_secrets_and_leaves_a_notice_otherwise() -> None:
    env = load()["jobs"]["build"]["env"]
    for flag, secret in (
        ("HAVE_MACOS_CERT", "MACOS_CERTIFICATE"),
        ("HAVE_WINDOWS_CERT", "WINDOWS_CERTIFICATE"),
        ("HAVE_NOTARY", "APPLE_APP_PASSWORD"),
        ("HAVE_GPG_KEY", "LINUX_GPG_KEY"),
    ):
        assert env[flag] == f"${{{{ secrets.{secret} != '' }}}}"
    for signing, skipped, flag in (
        ("Sign the app (macOS)", "Signing skipped (macOS)", "HAVE_MACOS_CERT"),
        ("Sign the program (Windows)", "Signing skipped (Windows)", "HAVE_WINDOWS_CERT"),
        ("Notarize the .dmg", "Notarization skipped", "HAVE_NOTARY"),
    ):
        assert f"env.{flag} == 'true'" in step(signing)["if"]
        assert f"env.{flag} != 'true'" in step(skipped)["if"]
        assert "::notice" in step(skipped)["run"]


def test_chatkit_leg_requires_the_real_view_where_the_cdn_answers() -> None:
    probe = step("ChatKit CDN reachable")
    assert "cdn.platform.openai.com/deployments/chatkit/chatkit.js" in probe["run"]
    leg = step("real ChatKit view required")
    assert leg["if"] == "steps.cdn.outputs.reachable == 'true'"
    assert "TASKCHAT_SELF_TEST_CHATKIT=require" in leg["run"]
    assert "tests.fakes.serve_gemini" in leg["run"]
    assert "chat=chatkit" in leg["run"]


def test_packages_and_checksums_are_uploaded_and_uninstall_keeps_data() -> None:
    uploads = [s for s in steps() if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    paths = uploads[0]["with"]["path"]
    assert "dist/taskchat_*.deb" in paths and "dist/TaskChat-*" in paths
    assert 'test -f "$data/taskchat.db"' in step("Uninstall")["run"]
