"""Preview the study site while the bank is edited: ``prepdeck serve``.

The site is built into a temporary folder and served on 127.0.0.1 only. A
watcher (watchfiles) rebuilds it when a file under the content or the templates
changes; an edit to questions alone renders just those questions' pages (with
the index, the quiz and the search index), anything else the whole site. Each
HTML page is served with a small script (``templates/site/live.js``) that polls
the build's version and reloads the page when it changes; only here does the
page's Content-Security-Policy allow it to connect back. A build that fails
keeps the last good files, and every page shows the problems as the CLI prints
them (``path:line: error: ...``) until the content is fixed.

This is the only module with a server and a watcher: the server runs in the
calling thread, the watcher in one thread of its own, and stopping (Ctrl-C,
SIGTERM) ends both and removes the folder.
"""

from __future__ import annotations

import dataclasses
import html
import http.server
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from markupsafe import escape

from generator.build import DEFAULT_TEMPLATES, check
from generator.errors import GeneratorError, Problem, Problems
from generator.lock import lock_path, read_lock
from generator.model import Bank
from generator.render import RenderOptions
from generator.render.site import CSP, render_site, site_dir
from generator.theme import themed

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: Where the server answers for itself rather than for the site.
LIVE = "/__prepdeck/"
#: The static site connects nowhere; a served page may poll the server it came from.
SERVE_CSP = CSP.replace("connect-src 'none'", "connect-src 'self'")


@dataclass(frozen=True, slots=True)
class Rebuild:
    """What one rebuild did."""

    pages: int  # HTML pages rendered
    written: int  # files whose bytes changed
    seconds: float
    problems: tuple[Problem, ...] = ()  # non-empty: the build failed and these are shown


class Preview:
    """A bank's site in a folder, rebuilt on demand; what the server shows.

    ``version`` rises whenever what a page shows changes (files or problems),
    which is what the open pages poll for.
    """

    def __init__(self, content: Path, folder: Path, templates: Path = DEFAULT_TEMPLATES):
        self.content = Path(content)
        self.folder = Path(folder)
        self.templates = Path(templates)
        self.version = 0
        self.problems: tuple[Problem, ...] = ()
        self.title = ""
        self.lock = threading.Lock()  # held while files are written, and to remove the folder
        self._files: dict[str, bytes] = {}
        self._bank: Bank | None = None

    def rebuild(self, changed: Iterable[Path] | None = None) -> Rebuild:
        """Build the site again; ``changed`` (None: unknown) decides whether a partial render will do."""
        started = time.perf_counter()
        with self.lock:
            try:
                bank, rendered, pages = self._render(None if changed is None else list(changed))
            except GeneratorError as exc:
                self.problems = exc.problems
                self.version += 1
                return Rebuild(0, 0, time.perf_counter() - started, exc.problems)
            written = self._write(rendered, full=pages is None)
            had_problems = bool(self.problems)
            self._bank, self.problems, self.title = bank, (), bank.title
            if written or had_problems:
                self.version += 1
            count = sum(name.endswith(".html") for name in rendered)
            return Rebuild(count, written, time.perf_counter() - started)

    def _render(self, changed: list[Path] | None) -> tuple[Bank, dict[str, bytes], Collection[str] | None]:
        bank = check(self.content).bank
        theme = self.content / bank.theme if bank.theme else None
        only = self._edited_questions(bank, theme, changed)
        problems = Problems()
        with themed(self.templates, theme, problems) as templates:
            problems.raise_if_errors()
            lock = read_lock(self.content, bank.id)
            options = RenderOptions(
                templates=templates,
                epoch=0,  # the site records no time
                lock=lock,
                bank_ids=frozenset(q.id for q in bank.questions),
            )
            rendered = render_site(bank, bank.slug, options, only=only)
        prefix = site_dir(bank.slug) + "/"
        files = {a.name.removeprefix(prefix): a.data for a in rendered.artifacts}
        return bank, files, only

    def _edited_questions(
        self, bank: Bank, theme: Path | None, changed: list[Path] | None
    ) -> Collection[str] | None:
        """Return the ids of the questions whose pages alone need rendering, or None for all pages.

        Only when nothing but questions changed: not the templates, the theme, the lock
        or the bank's own settings, and no question was added, removed or moved.
        """
        before = self._bank
        if before is None or changed is None or self.problems:
            return None
        for path in changed:
            path = Path(path).resolve()
            if _below(path, self.templates) or (theme is not None and _below(path, theme)):
                return None
            if path == lock_path(self.content).resolve():
                return None
        if dataclasses.replace(before, questions=()) != dataclasses.replace(bank, questions=()):
            return None
        if [q.id for q in before.questions] != [q.id for q in bank.questions]:
            return None
        return {new.id for old, new in zip(before.questions, bank.questions, strict=True) if old != new}

    def _write(self, files: dict[str, bytes], full: bool) -> int:
        """Write the files that changed (atomically); after a full render remove the ones gone."""
        written = 0
        for name, data in files.items():
            if self._files.get(name) == data:
                continue
            target = self.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_name(f".{target.name}.tmp")
            staged.write_bytes(data)
            os.replace(staged, target)
            self._files[name] = data
            written += 1
        if full:
            for name in [n for n in self._files if n not in files]:
                (self.folder / name).unlink(missing_ok=True)
                del self._files[name]
                written += 1
        return written

    def page(self, name: str) -> bytes | None:
        """Return an HTML page as served: the build's problems instead when it failed; else None."""
        if self.problems:
            return self._problem_page()
        data = self._files.get(name)
        if data is None:
            return None
        tag = f'<script src="{LIVE}live.js" data-version="{self.version}"></script>\n</body>'
        csp, serve_csp = str(escape(CSP)), str(escape(SERVE_CSP))  # as the page's attribute holds it
        return data.decode().replace(csp, serve_csp).replace("</body>", tag, 1).encode()

    def _problem_page(self) -> bytes:
        errors = GeneratorError(self.problems)
        lines = "\n".join(html.escape(_printable(str(p))) for p in self.problems)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{escape(SERVE_CSP)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<title>Build failed</title>\n"
            '<link rel="stylesheet" href="/assets/site.css">\n</head>\n<body class="page-problems">\n'
            '<main id="main">\n<h1>The site could not be built</h1>\n'
            f'<pre class="problems" id="problems">{lines}\nprepdeck: {html.escape(errors.summary())}</pre>\n'
            "<p>Fix the content and save: this page reloads when the site builds again.</p>\n</main>\n"
            f'<script src="{LIVE}live.js" data-version="{self.version}"></script>\n</body>\n</html>\n'
        ).encode()


def _printable(text: str) -> str:
    from generator.cli import printable

    return printable(text)


def _below(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _handler(preview: Preview, live_js: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        """Serve the site's files, HTML pages with the reload script, and the build's state."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(preview.folder), **kwargs)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path == LIVE + "state":
                state = {"version": preview.version, "problems": [str(p) for p in preview.problems]}
                return self._send(json.dumps(state).encode(), "application/json")
            if path == LIVE + "live.js":
                return self._send(live_js, "text/javascript")
            if path == "/favicon.ico":  # the site has none; a browser asks anyway
                self.send_response(204)
                self.end_headers()
                return None
            name = path.lstrip("/")
            if name == "" or name.endswith("/"):
                name += "index.html"
            if name.endswith(".html"):
                page = preview.page(unquote(name))
                if page is not None:
                    return self._send(page, "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, data: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, format: str, *args) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Handler


def serve(
    content: Path,
    port: int = 8000,
    templates: Path = DEFAULT_TEMPLATES,
    ready: Callable[[str, Rebuild], None] | None = None,
    rebuilt: Callable[[Rebuild], None] | None = None,
) -> None:
    """Build the site, serve it on 127.0.0.1:``port`` and rebuild on every change, until interrupted.

    ``ready`` gets the URL and the first build's report once the server listens
    (port 0 picks a free port); ``rebuilt`` gets each later build's report.
    KeyboardInterrupt (Ctrl-C, or SIGTERM as the CLI raises it) ends the server
    and the watcher and removes the temporary folder, then propagates.
    """
    import watchfiles

    folder = Path(tempfile.mkdtemp(prefix="prepdeck-serve-"))
    stop = threading.Event()
    server = None
    watcher = None
    preview = Preview(content, folder, templates)
    try:
        first = preview.rebuild()
        live_js = (Path(templates) / "site" / "live.js").read_bytes()
        try:
            server = http.server.ThreadingHTTPServer((HOST, port), _handler(preview, live_js))
        except OSError as exc:
            raise GeneratorError(
                f"cannot listen on {HOST}:{port} ({exc.strerror}); pass --port with another number, "
                "or --port 0 for any free one"
            ) from None
        server.daemon_threads = True

        def watch() -> None:
            roots = [str(Path(content).resolve()), str(Path(templates).resolve())]
            for changes in watchfiles.watch(*roots, stop_event=stop, debounce=400, step=30, rust_timeout=500):
                paths = [Path(path) for _, path in changes]
                log.info("changed: %s", ", ".join(str(p) for p in paths))
                report = preview.rebuild(paths)
                if rebuilt:
                    rebuilt(report)

        watcher = threading.Thread(target=watch, name="prepdeck-watch", daemon=True)
        watcher.start()
        if ready:
            ready(f"http://{HOST}:{server.server_address[1]}/", first)
        server.serve_forever(poll_interval=0.2)
    finally:
        stop.set()
        if server is not None:
            server.server_close()
        if watcher is not None:
            watcher.join(timeout=5)
        with preview.lock:
            shutil.rmtree(folder, ignore_errors=True)
