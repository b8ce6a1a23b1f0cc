"""``prepdeck serve``: a live preview of the study site that follows edits to the bank.

The server runs as a real process on an ephemeral port; pages are fetched over
plain HTTP, and each wait polls with a deadline. One browser test checks that an
open page reloads by itself (CI always runs it; elsewhere it skips without Chromium).
"""

from __future__ import annotations

import html
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_support import browser, require_chromium
from factories import CONTENT, TEMPLATES

from generator.build import check
from generator.lock import read_lock
from generator.render import RenderOptions
from generator.render.site import render_site
from generator.serve import Preview

#: How long a test waits for a page to show an edit before it fails: generous, for a busy
#: machine. The promise to a maintainer (well under a second) is timed by scripts/bench.py.
EDIT_DEADLINE = 30.0
QUESTION = "ab-testing"


def wait_until(condition: Callable[[], object], deadline: float, what: str) -> object:
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``deadline`` s."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline} s: {what}")
        time.sleep(0.05)


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except urllib.error.URLError:
        return ""


class Server:
    """A ``prepdeck serve`` process on a copy of the shipped bank, with its own temporary folder."""

    def __init__(self, root: Path) -> None:
        self.content = root / "content"
        shutil.copytree(CONTENT, self.content, ignore=shutil.ignore_patterns("__pycache__"))
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        env = {**os.environ, "TMPDIR": str(self.tmp), "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-c", "from generator.cli import main; main()"]
        self.process = subprocess.Popen(
            [*command, "serve", "--content", str(self.content), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=root,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        line = wait_until(self._url_line, 30, "the server prints its address")
        self.url = re.search(r"http://127\.0\.0\.1:\d+/", line).group()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def _url_line(self) -> str | None:
        while not self.lines.empty():
            line = self.lines.get()
            self.output.append(line)
            if line.startswith("serving "):
                return line
        assert self.process.poll() is None, "".join(self.output)
        return None

    def question_file(self, question_id: str) -> Path:
        return next(self.content.glob(f"questions/*/{question_id}.yaml"))

    def page(self, name: str) -> str:
        return fetch(self.url + name)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=10)
        finally:
            self.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path)
    yield running
    running.stop()


def edit_question(path: Path, text: str) -> str:
    """Give the question in ``path`` a new question text; return the text."""
    source = path.read_text(encoding="utf-8")
    changed = re.sub(r"^question: .*$", f"question: {text}", source, count=1, flags=re.M)
    assert changed != source
    path.write_text(changed, encoding="utf-8")
    return text


@pytest.mark.slow
def test_an_edit_shows_on_the_question_page_and_the_index(server: Server):
    page = f"q/{QUESTION}.html"
    text = "What does a ZEBRA-WIDGET experiment measure?"
    before = server.page(page)
    assert f"{QUESTION} · " in before and text not in before
    edit_question(server.question_file(QUESTION), text)
    wait_until(lambda: text in server.page(page), EDIT_DEADLINE, "the edited question on its page")
    assert text in server.page("index.html")
    # The served page carries the reload script, and only here may it connect back.
    served = server.page(page)
    assert '<script src="/__prepdeck/live.js"' in served
    assert "connect-src &#39;self&#39;" in served
    built = render_site(
        check(CONTENT).bank, "x", RenderOptions(templates=TEMPLATES, epoch=0), only=[QUESTION]
    )
    static = next(a.data.decode() for a in built.artifacts if a.name.endswith(f"{QUESTION}.html"))
    assert "connect-src &#39;none&#39;" in static and "__prepdeck" not in static


@pytest.mark.slow
def test_a_content_error_shows_on_the_page_and_the_page_recovers(server: Server):
    path = server.question_file(QUESTION)
    good = path.read_text(encoding="utf-8")
    page = f"q/{QUESTION}.html"
    before = wait_until(lambda: server.page(page), 5, "the question page")
    lines = good.count("\n")
    path.write_text(good + "tags: [unclosed\n", encoding="utf-8")
    # The page shows what `prepdeck check` prints for the same file: path:line: error: ...
    shown = wait_until(
        lambda: re.search(r"questions/\w+/ab-testing\.yaml:(\d+): error: [^<\n]+", server.page(page)),
        EDIT_DEADLINE,
        "the YAML error on the page",
    )
    assert int(shown.group(1)) in (lines + 1, lines + 2)
    checked = subprocess.run(
        [sys.executable, "-c", "from generator.cli import main; main()", "check", "--content", "content"],
        cwd=server.content.parent,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 1
    assert html.unescape(shown.group(0)) in checked.stderr
    assert shown.group(0) in server.page("index.html")  # every page says so
    assert server.process.poll() is None  # the server keeps running
    path.write_text(good, encoding="utf-8")
    wait_until(lambda: "error:" not in (now := server.page(page)) and now, EDIT_DEADLINE, "the page recovers")
    version = re.compile(r'data-version="\d+"')
    assert version.sub("", server.page(page)) == version.sub("", before)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_leaves_no_process_or_temporary_folder(server: Server, signum: int):
    assert server.page("index.html")
    assert [p.name for p in server.tmp.iterdir()], "the site is built in the temporary folder"
    assert server.stop(signum) == 0
    assert list(server.tmp.iterdir()) == []
    assert fetch(server.url + "index.html") == ""  # nothing listens any more


def test_serve_listens_on_the_loopback_only_and_refuses_a_busy_port(tmp_path: Path):
    import socket

    from click.testing import CliRunner

    from generator.cli import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {"TMPDIR": str(tmp_path)}
        result = CliRunner().invoke(main, ["serve", "--content", str(CONTENT), "--port", str(port)], env=env)
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--port 0" in result.output
    assert list(tmp_path.iterdir()) == []


# --- rebuilding only what an edit changed ----------------------------------------------------------


def test_a_question_edit_renders_only_that_question_page_and_the_index(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content, ignore=shutil.ignore_patterns("__pycache__"))
    preview = Preview(content, tmp_path / "site", TEMPLATES)
    first = preview.rebuild()
    bank = check(content).bank
    assert first.problems == ()
    assert first.pages == len(bank.questions) + 2  # every question, the index and the quiz
    path = next(content.glob(f"questions/*/{QUESTION}.yaml"))
    edit_question(path, "A reworded question?")
    report = preview.rebuild([path])
    assert report.pages == 3  # its page, the index and the quiz
    # What the partial rebuild left in the folder is what a full render gives.
    edited = check(content).bank
    options = RenderOptions(
        templates=TEMPLATES,
        epoch=0,
        lock=read_lock(content, bank.id),
        bank_ids=frozenset(q.id for q in bank.questions),
    )
    full = render_site(edited, bank.slug, options)
    prefix = f"{bank.slug}-site/"
    for artifact in full.artifacts:
        assert (tmp_path / "site" / artifact.name.removeprefix(prefix)).read_bytes() == artifact.data
    # A change to the templates renders every page again.
    report = preview.rebuild([TEMPLATES / "site" / "question.html"])
    assert report.pages == len(bank.questions) + 2
    assert report.written == 0  # and writes nothing when nothing changed


def test_a_failed_rebuild_keeps_the_last_site_and_shows_the_problems(tmp_path: Path):
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content, ignore=shutil.ignore_patterns("__pycache__"))
    preview = Preview(content, tmp_path / "site", TEMPLATES)
    preview.rebuild()
    version = preview.version
    index = (tmp_path / "site" / "index.html").read_bytes()
    (content / "bank.yaml").write_text("id: [\n<script>alert(1)</script>\n", encoding="utf-8")
    report = preview.rebuild([content / "bank.yaml"])
    assert report.problems and preview.version == version + 1
    assert (tmp_path / "site" / "index.html").read_bytes() == index
    page = preview.page("index.html").decode()
    assert "bank.yaml:" in page and "error:" in page
    assert "<script>alert" not in page  # quoted content is escaped


# --- in the browser --------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_open_page_reloads_itself_after_an_edit(server: Server):
    require_chromium("the serve browser test")
    with browser() as instance:
        page = instance.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url + f"q/{QUESTION}.html")
        text = edit_question(server.question_file(QUESTION), "Which QUOKKA metric decides the test?")
        page.wait_for_function(
            "text => document.body.innerText.includes(text)", arg=text, timeout=EDIT_DEADLINE * 1000
        )
        assert errors == []
        assert all(url.startswith(server.url) for url in requests), requests
