"""The GitHub Actions workflows: actionlint-clean, and build.yml does what the README says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BUILD = WORKFLOWS / "build.yml"


def actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which(
        "actionlint", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail("actionlint is not installed (it is in the dev extra: pip install -e .[dev])")
    return found


def test_actionlint_passes() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.y*ml"))
    assert files, "no workflow files"
    result = subprocess.run(
        [actionlint(), "-no-color", *files], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really runs: a workflow with an unknown expression is refused."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ matrix.nope }}\n"
    )
    result = subprocess.run([actionlint(), "-no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0


def load() -> dict:
    data = yaml.safe_load(BUILD.read_text())
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def test_build_matrix_covers_three_platforms() -> None:
    job = load()["jobs"]["build"]
    runners = [entry["os"] for entry in job["strategy"]["matrix"]["include"]]
    assert [r.split("-")[0] for r in runners] == ["ubuntu", "windows", "macos"]
    assert job["strategy"]["fail-fast"] is False


def test_linux_leg_runs_the_same_script_as_ci() -> None:
    steps = load()["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps if s.get("if") == "runner.os == 'Linux'"]
    assert "bash .ci/run" in runs
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    test_sh = (ROOT / "scripts" / "test.sh").read_text()
    assert "packaging/build.sh onedir" in test_sh


def test_other_legs_build_smoke_and_self_test() -> None:
    steps = load()["jobs"]["build"]["steps"]
    text = "\n".join(s.get("run", "") for s in steps if s.get("if") == "runner.os != 'Linux'")
    assert "packaging/build.sh onedir" in text
    assert "packaging/smoke_test.py" in text
    assert "--self-test" in text and "SELF-TEST OK" in text


def test_artifacts_have_checksums_and_tags_make_a_release() -> None:
    data = load()
    assert "v*" in data["on"]["push"]["tags"]
    steps = data["jobs"]["build"]["steps"]
    assert any("packaging/archive.py" in s.get("run", "") for s in steps)
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert any("dist/TaskChat-*" in u["with"]["path"] for u in uploads)
    release = data["jobs"]["release"]
    assert release["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert release["permissions"] == {"contents": "write"}
    script = "\n".join(s.get("run", "") for s in release["steps"])
    assert "sha256sum -c" in script and "gh release" in script
    # Least privilege everywhere else.
    assert data["permissions"] == {"contents": "read"}


def test_archive_writes_a_verifiable_checksum(tmp_path: Path, monkeypatch) -> None:
    from tests import packaging_scripts

    archive = packaging_scripts.load("archive")
    monkeypatch.setattr(archive, "ROOT", tmp_path)
    built = tmp_path / "dist" / "onefile"
    built.mkdir(parents=True)
    (built / "taskchat").write_bytes(b"binary")
    assert archive.main(["onefile"]) == 0
    sums = list((tmp_path / "dist").glob("*.sha256"))
    assert len(sums) == 1
    result = subprocess.run(
        ["sha256sum", "-c", sums[0].name], cwd=sums[0].parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
