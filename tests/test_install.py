"""prepdeck as a user installs it: the wheel into a fresh venv, run from another folder.

Builds the wheel and the sdist from the tracked files, installs the wheel (not
editable) into a new virtual environment, and from an empty folder starts a bank
with ``prepdeck init``, checks it strictly, builds it, imports the deck into real
Anki and runs the bank's own example test. Slow: it installs the dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from anki_support import import_package, open_collection

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def sh(*args: str | Path, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=900
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def project_files() -> list[str]:
    listed = sh("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return [name for name in listed.splitlines() if (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """Return the bin/ folder of a fresh venv with the project's wheel installed."""
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    for name in project_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    venv = tmp / "venv"
    sh(sys.executable, "-m", "venv", venv, cwd=tmp)
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    sh(*pip, "install", "setuptools>=77", cwd=tmp)
    sh(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp / "dist", source, cwd=tmp)
    code = "from setuptools import build_meta; print(build_meta.build_sdist(r'%s'))" % (tmp / "dist")
    sh(venv / "bin" / "python", "-c", code, cwd=source)
    sh(*pip, "install", "-c", source / "constraints.txt", *(tmp / "dist").glob("*.whl"), cwd=tmp)
    return venv / "bin"


def test_the_wheel_and_sdist_carry_the_code_templates_and_starter(installed: Path):
    dist = installed.parent.parent / "dist"
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    names = set(zipfile.ZipFile(wheel).namelist())
    files = project_files()
    expected = {n for n in files if n.startswith("generator/") and "__pycache__" not in n}
    expected |= {"generator/" + n for n in files if n.startswith("templates/")}
    assert expected - names == set()
    assert {n.split("/")[0] for n in names} == {"generator", f"{wheel.name.split('-py3')[0]}.dist-info"}
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {n for n in files if n.startswith(("templates/", "generator/"))} - members == set()


def test_a_new_bank_checks_builds_imports_and_tests_outside_the_repository(installed: Path, tmp_path):
    prepdeck = installed / "prepdeck"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    work = tmp_path / "work"
    work.mkdir()

    sh(prepdeck, "init", "mybank", cwd=work, env=env)
    checked = sh(prepdeck, "check", "--content", "mybank", "--strict", cwd=work, env=env)
    assert checked == "My Interview Bank: 2 questions in 2 categories, 2 code examples, 1 subset\n"
    sh(prepdeck, "build", "--content", "mybank", "--out", "out", cwd=work, env=env)
    assert sorted(p.name for p in (work / "out").glob("*.*") if not p.name.startswith(".")) == [
        "my-bank-cheatsheet.pdf",
        "my-bank-flashcards.pdf",
        "my-bank-quick-cheatsheet.pdf",
        "my-bank-quick-flashcards.pdf",
        "my-bank-quick.apkg",
        "my-bank.apkg",
    ]

    with open_collection(tmp_path / "collection.anki2") as col:
        import_package(col, work / "out" / "my-bank.apkg")
        # two question notes, and one cloze note for the two-item cloze group
        assert col.note_count() == 3
        assert col.card_count() == 4

    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "mybank/tests"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "3 passed" in tested.stdout
