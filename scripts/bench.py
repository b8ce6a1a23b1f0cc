"""Benchmark prepdeck against the bare libraries it is built on.

Prints a table and writes it as JSON (``--out``/results.json). Every ratio is
measured in the same run as its baseline, so the machine's speed cancels out.

    python scripts/bench.py --out build/bench
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.build import BuildRequest, build, check, plan_targets  # noqa: E402
from generator.cache import CACHE_DIR  # noqa: E402
from generator.model import Selection  # noqa: E402
from generator.render import RenderOptions  # noqa: E402

PRODUCT = ROOT / "content"
TEMPLATES = ROOT / "templates"
EPOCH = 1_700_000_000


def timed(function, *args, **kwargs) -> tuple[float, object]:
    """Return (seconds, result) of one call."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def median_time(function, runs: int) -> float:
    """Return the median wall time of ``runs`` calls."""
    return statistics.median(timed(function)[0] for _ in range(runs))


# --- synthetic banks ---------------------------------------------------------------------------

CATEGORIES = ("training", "mlops", "design")


def write_bank(root: Path, questions: int, subsets: str = "") -> Path:
    """Write a synthetic bank of ``questions`` questions shaped like the shipped ones.

    ``subsets`` is the YAML of ``bank.yaml``'s subsets, if any (question ``n``
    is tagged ``topic::t{n % 17}``).
    """
    content = root / f"bank-{questions}"
    if content.exists():
        shutil.rmtree(content)
    (content / "examples").mkdir(parents=True)
    (content / "examples" / "demo.py").write_text(
        textwrap.dedent("""\
        # region demo
        def predict(features: list[float]) -> float:
            \"\"\"Score one example with a fixed linear model.\"\"\"
            weights = [0.25, -0.5, 1.0]
            return sum(w * x for w, x in zip(weights, features))
        # endregion
        """)
    )
    categories = "\n".join(
        f"  - {{slug: {slug}, title: {slug.title()}, colour: '#1f5fa8', description: Synthetic.}}"
        for slug in CATEGORIES
    )
    (content / "bank.yaml").write_text(
        f"id: synthetic-{questions}\nslug: synthetic\ntitle: Synthetic {questions}\nversion: 1.0.0\n"
        f"description: A generated bank for benchmarks.\ncategories:\n{categories}\n{subsets}"
    )
    levels = ("easy", "medium", "hard")
    rarities = ("rare", "medium", "common", "very-common")
    for number in range(1, questions + 1):
        category = CATEGORIES[number % len(CATEGORIES)]
        folder = content / "questions" / category
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"q{number:05d}.yaml").write_text(
            textwrap.dedent(f"""\
            id: q{number:05d}
            number: {number}
            category: {category}
            question: How would you handle situation number {number} in a production ML system?
            summary: Measure first, then change one thing at a time and keep a rollback path ({number}).
            answer: >-
              Start from the requirement and the metric that captures it. For case {number},
              profile the system, find the bottleneck, and fix that first; use `batching`,
              **caching** and monitoring where they help, and keep a rollback plan ready.
            key_points:
              - title: Strategies
                cloze: true
                items:
                  - "**Measure**: profile before optimizing ({number})"
                  - "**Batch**: group requests to use the hardware well (case {number})"
                  - "**Cache**: reuse results for repeated inputs of case {number}"
              - title: Risks
                items:
                  - Regressions without monitoring in case {number}
                  - Silent data drift after change {number}
            rarity: {rarities[number % 4]}
            difficulty: {levels[number % 3]}
            tags: [synthetic, topic::t{number % 17}]
            follow_ups:
              - What would you monitor after change {number}?
            pitfalls:
              - Optimizing case {number} before measuring it.
            examples:
              - file: examples/demo.py
                region: demo
                title: Demo
            """)
        )
    return content


# --- bare baselines ----------------------------------------------------------------------------


def bare_genanki(bank, path: Path) -> None:
    """Write the same notes with genanki alone: the same rendered text, none of prepdeck's work around it.

    What both sides do: render every question's Markdown as prepdeck's fields
    hold it (question and answer as blocks, summary, key points, follow-ups and
    pitfalls inline, through the same cached ``markup`` functions), highlight
    its code, make one question note and one cloze note per cloze group with
    GUIDs from genanki, and write an ``.apkg`` with genanki's own writer.

    What only prepdeck's deck stage does, and the ratio measures: Jinja field
    templates (key-point groups, code figures, cloze deletions around each key
    term), escaping of Anki syntax, the metadata fields, tags, note types from
    card templates and CSS, subdecks, note times, a fixed-date in-memory
    collection (VACUUMed) and a deflated zip. genanki's writer stores the zip
    entries uncompressed and keeps its collection in a temporary file.
    """
    import genanki

    from generator.render import markup

    names = ("Question", "Summary", "Answer", "KeyPoints", "Code", "FollowUps", "Pitfalls")
    basic = genanki.Model(
        1607392319,
        "Bare question",
        fields=[{"name": n} for n in names],
        templates=[{"name": "Card 1", "qfmt": "{{Question}}", "afmt": "{{FrontSide}}<hr>{{Answer}}"}],
    )
    cloze = genanki.Model(
        998877661,
        "Bare cloze",
        model_type=genanki.Model.CLOZE,
        fields=[{"name": "Text"}, {"name": "Context"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}", "afmt": "{{cloze:Text}}"}],
    )
    deck = genanki.Deck(2059400110, bank.title)

    def items(texts) -> str:
        return "<ul>" + "".join(f"<li>{markup.markdown_inline(t)}</li>" for t in texts) + "</ul>"

    for q in bank.questions:
        points = "".join(f"<h3>{g.title}</h3>{items(g.items)}" for g in q.key_points)
        code = "".join(markup.highlight(e.code, e.language) for e in q.examples)
        fields = [
            markup.markdown(q.question),  # a block, as in prepdeck's Question field
            markup.markdown_inline(q.summary),
            markup.markdown(q.answer),
            points,
            code,
            items(f.question for f in q.follow_ups),
            items(q.pitfalls),
        ]
        deck.add_note(
            genanki.Note(model=basic, guid=genanki.guid_for(q.id), fields=fields, tags=list(q.tags))
        )
        for group in q.key_points:
            if group.cloze:
                text = "<br>".join(
                    f"{{{{c{n}::{markup.markdown_inline(item)}}}}}" for n, item in enumerate(group.items, 1)
                )
                deck.add_note(
                    genanki.Note(
                        model=cloze, guid=genanki.guid_for(q.id, group.key), fields=[text, q.question]
                    )
                )
    # genanki writes its collection to a temporary file that it never deletes: keep it in a
    # folder of its own, removed after.
    with tempfile.TemporaryDirectory(prefix="bare-genanki-") as scratch:
        default, tempfile.tempdir = tempfile.tempdir, scratch
        try:
            genanki.Package(deck).write_to_file(str(path), timestamp=EPOCH)
        finally:
            tempfile.tempdir = default


def bare_weasyprint(html: str, base: Path = TEMPLATES) -> bytes:
    """Render HTML with WeasyPrint's defaults (base URL: ``base``, the templates directory)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(base) + "/").write_pdf()


def bare_folder(target: Path, html: str) -> Path:
    """Return a folder for a bare render of ``html``: the templates, and the pictures it shows as files.

    prepdeck serves an answer's images and formulas to WeasyPrint from memory; a
    bare render with WeasyPrint's own fetcher needs them on disk, at the ``media/…``
    paths the HTML names, or it would draw the pages without them.
    """
    from generator.render import media

    target.mkdir(parents=True, exist_ok=True)
    for entry in TEMPLATES.iterdir():
        if not (target / entry.name).exists():
            (target / entry.name).symlink_to(entry)
    for path in media.references(html):
        found = media.fetch(PRODUCT, path)
        assert found is not None, path
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(found[0])
    return target


# --- stages ------------------------------------------------------------------------------------


def stage_in_subprocess(content: Path, stage: str) -> dict:
    """Run one stage for a bank in a fresh process, so its peak RSS is its own."""
    code = textwrap.dedent(f"""\
        import json, resource, sys, time, tempfile
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from generator.build import check
        from generator.render import RenderOptions
        started = time.perf_counter()
        bank = check(Path({str(content)!r})).bank
        load = time.perf_counter() - started
        options = RenderOptions(templates=Path({str(TEMPLATES)!r}), epoch={EPOCH})
        started, cpu = time.perf_counter(), time.process_time()
        if {stage!r} == "deck":
            from generator.render.anki import render_deck
            render_deck(bank, "bench", options)
        elif {stage!r} == "bare":
            sys.path.insert(0, {str(ROOT / "scripts")!r})
            from bench import bare_genanki
            with tempfile.TemporaryDirectory() as tmp:
                bare_genanki(bank, Path(tmp) / "bare.apkg")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"load": load, "seconds": seconds, "cpu": cpu, "rss_mb": rss}}))
        """)
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def lock_cost_in_subprocess(content: Path, runs: int) -> dict:
    """Time the deck stage without and with the lock, alternating in one fresh process.

    With the lock, the stage reads and parses ``prepdeck.lock`` and renders against it,
    as ``prepdeck build`` does after a release. Each is timed ``runs`` times after a
    warm-up of both; the fastest CPU time of each is the one least disturbed by other
    processes, so their difference is what the lock adds (``lock_cpu_seconds``) and
    their ratio its cost against the warm stage.
    """
    code = textwrap.dedent(f"""\
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from dataclasses import replace
        from pathlib import Path
        from generator.build import check
        from generator.lock import read_lock
        from generator.render import RenderOptions
        from generator.render.anki import render_deck
        content = Path({str(content)!r})
        bank = check(content).bank
        options = RenderOptions(templates=Path({str(TEMPLATES)!r}), epoch={EPOCH})
        ids = frozenset(q.id for q in bank.questions)

        def plain():
            render_deck(bank, "bench", options)

        def locked():
            lock = read_lock(content, bank.id)
            assert not lock.is_empty
            render_deck(bank, "bench", replace(options, lock=lock, bank_ids=ids))

        times = {{"plain": [], "locked": []}}
        for run in range({runs} + 1):
            for name, stage in (("plain", plain), ("locked", locked)):
                started, cpu = time.perf_counter(), time.process_time()
                stage()
                if run:  # the first round warms caches for both
                    times[name].append((time.perf_counter() - started, time.process_time() - cpu))
        print(json.dumps({{name: [min(t[0] for t in found), min(t[1] for t in found)]
                          for name, found in times.items()}}))
        """)
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    found = json.loads(output.stdout.strip().splitlines()[-1])
    return {
        "deck_seconds": found["plain"][0],
        "deck_with_lock_seconds": found["locked"][0],
        "lock_cpu_ratio": found["locked"][1] / found["plain"][1],
        "lock_cpu_seconds": found["locked"][1] - found["plain"][1],
    }


_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$([^$\s](?:[^$]*?[^$\s])?)\$(?!\d)")


def without_media(content: Path, target: Path) -> Path:
    """Copy the bank to ``target``, each image replaced by its alt text and each formula by its LaTeX."""
    shutil.copytree(content, target, ignore=shutil.ignore_patterns("__pycache__", "media"))
    for path in (target / "questions").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        text = _IMAGE.sub(lambda m: m.group(1), text)
        text = _MATH.sub(lambda m: (m.group(1) or m.group(2)).replace("\\", " "), text)
        path.write_text(text, encoding="utf-8")
    return target


def build_in_subprocess(content: Path, out: Path) -> tuple[float, float]:
    """Build a bank's deck, sheets and site (all questions, no subsets) in a fresh process, one job.

    Return the build's own wall and CPU seconds: a fresh process starts with
    empty caches, as a user's ``prepdeck build`` does, and the action cache is
    off (every run renders every output, as the first build of a bank does);
    interpreter start-up, the same for both banks, is left out. With one job
    the CPU time is the build's work, whatever else the machine runs.
    """
    code = textwrap.dedent(f"""\
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from generator.build import BuildRequest, build, check
        from generator.model import Selection
        content = Path({str(content)!r})
        started, cpu = time.perf_counter(), time.process_time()
        ids = frozenset(q.id for q in check(content).bank.questions)
        request = BuildRequest(content=content, out=Path({str(out)!r}), epoch={EPOCH}, jobs=1,
                               selection=Selection(ids=ids), name="all", use_cache=False)
        build(request)
        print(time.perf_counter() - started, time.process_time() - cpu)
        """)
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    wall, cpu = output.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def bench_media(work: Path, runs: int) -> dict:
    """The shipped bank, with its diagrams and formulas, against the same bank without them.

    The copy without them shows each image's alt text and each formula's LaTeX
    as plain text instead. Both build every output in fresh processes, one job
    each, alternating ``runs`` times. The ratio compares CPU time, the fastest
    of each (the run least disturbed by other processes); wall times are medians.
    """
    plain = without_media(PRODUCT, work / "no-media")
    times: dict[str, list[tuple[float, float]]] = {"media": [], "plain": []}
    for _ in range(runs):
        times["plain"].append(build_in_subprocess(plain, work / "out-no-media"))
        times["media"].append(build_in_subprocess(PRODUCT, work / "out-media"))
    cpu = {name: min(t[1] for t in found) for name, found in times.items()}
    return {
        "with_media_seconds": statistics.median(t[0] for t in times["media"]),
        "without_media_seconds": statistics.median(t[0] for t in times["plain"]),
        "with_media_cpu_seconds": cpu["media"],
        "without_media_cpu_seconds": cpu["plain"],
        "ratio": cpu["media"] / cpu["plain"],
    }


def bench_default_build(runs: int) -> dict:
    """The shipped bank's deck, cheat sheet and flashcards: median wall time of ``runs``.

    Every build renders every output (``use_cache=False``, ``--no-cache``): with
    the action cache, every build after the first would only reuse the first's
    outputs. That case, a rebuild with nothing changed, is reported apart.
    """
    out = Path(tempfile.mkdtemp(prefix="prepdeck-bench-"))
    bank = check(PRODUCT).bank

    def request(**options) -> BuildRequest:
        return BuildRequest(content=PRODUCT, out=out, epoch=EPOCH, use_cache=False, **options)

    full_only = request(selection=_all_ids(bank), name="all")
    seconds_full = median_time(lambda: build(full_only), runs)
    seconds_all = median_time(lambda: build(request()), runs)
    serial = median_time(lambda: build(request(jobs=1)), 3)
    cached = replace(full_only, use_cache=True)
    build(cached)
    seconds_cached = median_time(lambda: build(cached), runs)
    # As a user runs it: a fresh `prepdeck build` process, interpreter start-up included.
    ids = [arg for q in bank.questions for arg in ("--id", q.id)]
    command = [
        str(ROOT / ".venv" / "bin" / "prepdeck"),
        "build",
        "--no-cache",
        "--content",
        str(PRODUCT),
        "--out",
        str(out),
    ]
    command += [*ids, "--name", "all"]
    cli = median_time(lambda: subprocess.run(command, check=True, capture_output=True), runs)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "default_bank_seconds": seconds_full,
        "default_bank_cli_seconds": cli,
        "default_bank_cached_seconds": seconds_cached,
        "with_subsets_seconds": seconds_all,
        "with_subsets_serial_seconds": serial,
        "parallel_speedup": serial / seconds_all,
        "cores": os.cpu_count(),
    }


def _all_ids(bank):
    from generator.model import Selection

    return Selection(ids=frozenset(q.id for q in bank.questions))


def bench_pdf_overhead(runs: int) -> dict:
    """The shipped bank's PDFs against one bare WeasyPrint render of the same HTML each."""
    from generator.render.cheatsheet import cheatsheet_html, render_cheatsheet
    from generator.render.flashcards import flashcards_html, render_flashcards

    bank = check(PRODUCT).bank
    options = RenderOptions(templates=TEMPLATES, epoch=EPOCH)
    ours = median_time(
        lambda: (render_cheatsheet(bank, "b", options), render_flashcards(bank, "b", options)), runs
    )
    sheet_html, cards_html = cheatsheet_html(bank, options), flashcards_html(bank, options)
    with tempfile.TemporaryDirectory(prefix="bare-weasyprint-") as scratch:
        sheet_base = bare_folder(Path(scratch) / "sheet", sheet_html)
        cards_base = bare_folder(Path(scratch) / "cards", cards_html)
        bare = median_time(
            lambda: (bare_weasyprint(sheet_html, sheet_base), bare_weasyprint(cards_html, cards_base)),
            runs,
        )
    return {"pdfs_seconds": ours, "bare_weasyprint_seconds": bare, "ratio": ours / bare}


def bench_noop_make() -> dict:
    """A second `make build` with nothing changed."""
    env = dict(os.environ)
    subprocess.run(["make", "-s", "build"], cwd=ROOT, check=True, capture_output=True, env=env)
    seconds, _ = timed(
        subprocess.run, ["make", "-s", "build"], cwd=ROOT, check=True, capture_output=True, env=env
    )
    return {"noop_make_build_seconds": seconds}


def run_build(content: Path, out: Path, *args: str) -> dict:
    """Run ``prepdeck build`` in a fresh process; return its wall time, peak memory and what it rendered.

    A helper process starts it and samples, every 20 ms, the memory of the
    build and of every process below it (its render workers) in /proc:
    ``memory_mb`` is the peak of their summed proportional set size (PSS: a page
    a forked worker shares with the build counts once, split between them), the
    memory the whole build takes at its worst moment; ``rss_sum_mb`` the peak of
    their summed RSS (shared pages counted in each: an upper bound);
    ``largest_process_mb`` the peak RSS of the largest one alone (the kernel's
    count, which misses no moment). The build's log names what it rendered.
    """
    code = textwrap.dedent("""\
        import json, os, resource, subprocess, sys, time

        def tree(root):
            children = {}
            for name in os.listdir("/proc"):
                if name.isdigit():
                    try:
                        with open(f"/proc/{name}/stat") as stat:
                            parent = int(stat.read().rsplit(")", 1)[1].split()[1])
                    except (OSError, IndexError, ValueError):
                        continue
                    children.setdefault(parent, []).append(int(name))
            found, todo = [], [root]
            while todo:
                found.append(todo.pop())
                todo += children.get(found[-1], [])
            return found

        def memory(pid):
            sizes = {}
            try:
                with open(f"/proc/{pid}/smaps_rollup") as rollup:
                    for line in rollup:
                        key, _, value = line.partition(":")
                        if key in ("Rss", "Pss"):
                            sizes[key] = int(value.split()[0])
            except (OSError, ValueError):
                pass
            return sizes.get("Pss", 0), sizes.get("Rss", 0)

        started = time.perf_counter()
        process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak_pss = peak_rss = 0
        while process.poll() is None:
            sizes = [memory(pid) for pid in tree(process.pid)]
            peak_pss = max(peak_pss, sum(pss for pss, _ in sizes))
            peak_rss = max(peak_rss, sum(rss for _, rss in sizes))
            time.sleep(0.02)
        stdout, stderr = process.communicate()
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                          "memory_mb": peak_pss / 1024, "rss_sum_mb": peak_rss / 1024,
                          "largest_process_mb": usage.ru_maxrss / 1024, "status": process.returncode,
                          "stdout": stdout, "stderr": stderr}))
        """)
    command = [
        str(ROOT / ".venv" / "bin" / "prepdeck"),
        "-v",  # its log names the outputs it rendered
        "build",
        "--content",
        str(content),
        "--out",
        str(out),
    ]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    output = subprocess.run(
        [sys.executable, "-c", code, *command, *args], check=True, capture_output=True, text=True, env=env
    )
    result = json.loads(output.stdout)
    if result["status"] != 0:
        raise RuntimeError(f"prepdeck build failed: {result['stderr']}")
    counts = re.search(r"(\d+) rendered, (\d+) reused", result["stdout"])
    result["rendered"], result["reused"] = (int(counts.group(1)), int(counts.group(2))) if counts else (0, 0)
    names = re.search(r"generator\.build: rendered: (.*)", result["stderr"])
    result["rendered_names"] = (
        [] if names is None or names.group(1) == "nothing" else names.group(1).split(", ")
    )
    del result["stdout"], result["stderr"], result["status"]
    return result


def edit_answer(content: Path, question: str, run: int) -> None:
    """Change one word of one question's answer, differently each run (so no run finds it cached)."""
    path = next(content.glob(f"questions/*/{question}.yaml"))
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("answer:"))
    if re.fullmatch(r"answer:\s*[|>][-+0-9]*\s*", lines[at]):  # a block scalar: its first line
        at += 1
    lines[at] = re.sub(r"(\S+)(\s*)$", rf"\1 (edit {run})\2", lines[at], count=1)
    path.write_text("".join(lines), encoding="utf-8")


def cache_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in (out / CACHE_DIR).rglob("*") if p.is_file())


def bench_incremental(work: Path, runs: int) -> dict:
    """The shipped bank, every target: a cold ``prepdeck build`` against a rebuild after a one-answer edit.

    Each as a fresh process, median of ``runs``. Cold: no output folder, so no
    cache. Edit: one word of ``recommendation-system``'s answer (in the whole
    bank and the ``hard`` subset) changes before each rebuild, each time to a
    text no earlier run cached.
    """
    content = work / "incremental-content"
    shutil.copytree(PRODUCT, content, ignore=shutil.ignore_patterns("__pycache__"))
    out = work / "incremental-out"
    cold, edits = [], []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        cold.append(run_build(content, out))
    unchanged = [run_build(content, out) for _ in range(runs)]
    for run in range(runs):
        edit_answer(content, "recommendation-system", run)
        edits.append(run_build(content, out))
    cold_seconds = statistics.median(r["seconds"] for r in cold)
    edit_seconds = statistics.median(r["seconds"] for r in edits)
    return {
        "outputs": cold[0]["rendered"],
        "cold_seconds": cold_seconds,
        "cold_cpu_seconds": statistics.median(r["cpu"] for r in cold),
        "cold_peak_memory_mb": max(r["memory_mb"] for r in cold),
        "one_edit_seconds": edit_seconds,
        "one_edit_cpu_seconds": statistics.median(r["cpu"] for r in edits),
        "one_edit_rendered": edits[-1]["rendered"],
        "one_edit_reused": edits[-1]["reused"],
        "one_edit_unexpected": len(
            set(edits[-1]["rendered_names"]) ^ set(edit_expected(content, "recommendation-system"))
        ),
        "one_edit_ratio": edit_seconds / cold_seconds,
        "unchanged_seconds": statistics.median(r["seconds"] for r in unchanged),
        "no_cache_seconds": run_build(content, work / "incremental-no-cache", "--no-cache")["seconds"],
        "cache_kb": cache_bytes(out) / 1024,
    }


#: Two small subsets of the synthetic bank, so that a one-question edit at scale leaves outputs alone.
SCALE_SUBSETS = """\
subsets:
  - {name: topic-7, description: One topic., tag: ['topic::t7']}
  - {name: topic-8, description: Another topic., tag: ['topic::t8']}
"""


def edit_expected(content: Path, question: str) -> list[str]:
    """Return the outputs an edit of ``question``'s answer must render again, and no others.

    The deck and the study site of each target that holds the question: they
    show the answer. The cheat sheet and the flashcards print its summary and
    key points, never the answer's text, so their input is unchanged and they
    are reused (see ``RENDERERS``: a PDF is keyed by its layout's HTML).
    """
    bank = check(content).bank
    targets = plan_targets(bank, Selection(), None, None)
    held = [t.stem for t in targets if any(q.id == question for q in t.bank.questions)]
    return sorted(name for stem in held for name in (f"{stem}.apkg", f"{stem}-site"))


def bench_scale_build(work: Path, size: int = 1000) -> dict:
    """A full build of a ``size``-question bank: cold, then after one edit; its peak memory and cache size.

    The bank has two small subsets (``SCALE_SUBSETS``); the edited question is
    in the whole bank and one of them, as the shipped bank's ``hard`` subset
    holds the question ``bench_incremental`` edits. The rebuild must render
    exactly ``edit_expected``'s outputs.
    """
    content = write_bank(work, size, SCALE_SUBSETS)
    out = work / f"scale-out-{size}"
    shutil.rmtree(out, ignore_errors=True)
    cold = run_build(content, out)
    question = f"q{size // 2:05d}"
    edit_answer(content, question, 0)
    edit = run_build(content, out)
    expected = edit_expected(content, question)
    return {
        "questions": size,
        "outputs": cold["rendered"],
        "cold_seconds": cold["seconds"],
        "cold_cpu_seconds": cold["cpu"],
        "one_edit_seconds": edit["seconds"],
        "one_edit_rendered": edit["rendered"],
        "one_edit_reused": edit["reused"],
        "one_edit_rendered_names": sorted(edit["rendered_names"]),
        "one_edit_expected_names": expected,
        "one_edit_unexpected": len(set(edit["rendered_names"]) ^ set(expected)),
        "peak_memory_mb": max(cold["memory_mb"], edit["memory_mb"]),
        "peak_rss_sum_mb": max(cold["rss_sum_mb"], edit["rss_sum_mb"]),
        "largest_process_mb": max(cold["largest_process_mb"], edit["largest_process_mb"]),
        "cache_mb": cache_bytes(out) / 2**20,
        "outputs_mb": sum(
            p.stat().st_size for p in out.rglob("*") if p.is_file() and CACHE_DIR not in p.parts
        )
        / 2**20,
    }


def bench_scale(work: Path, sizes: list[int], runs: int = 5) -> list[dict]:
    """Load+validate, deck and peak RSS at each size, beside bare genanki on the same notes.

    The two alternate, ``runs`` times each, each run in a fresh process; medians are compared.
    Then the same deck is rendered against a lock of every note (as after a release),
    reading the lock included, alternating with the deck without one in one process
    with warm caches (``lock_cost_in_subprocess``): the difference of their least CPU
    times is what the lock adds, measured where noise is least. Its ratio to the
    fresh-process stage (Markdown rendered, as a build's deck renders it) is the
    lock's cost in a build; its ratio to the warm stage is reported beside it.
    """
    from generator.release import release

    rows = []
    for size in sizes:
        content = write_bank(work, size)
        release(content, epoch=EPOCH)  # a lock of every note, as after a release
        ours, bare = [], []
        for _ in range(runs):
            ours.append(stage_in_subprocess(content, "deck"))
            bare.append(stage_in_subprocess(content, "bare"))
        deck = statistics.median(r["seconds"] for r in ours)
        baseline = statistics.median(r["seconds"] for r in bare)
        lock = lock_cost_in_subprocess(content, runs=9 if size <= 1000 else 7)
        cold = statistics.median(r["cpu"] for r in ours)
        rows.append(
            {
                "questions": size,
                "load_validate_seconds": statistics.median(r["load"] for r in ours),
                "deck_seconds": deck,
                "bare_genanki_seconds": baseline,
                "deck_ratio": deck / baseline,
                "deck_warm_seconds": lock["deck_seconds"],
                "deck_with_lock_warm_seconds": lock["deck_with_lock_seconds"],
                # What reading and checking the lock adds, CPU s: measured warm, where it is
                # steadiest; the lock's work renders no Markdown, so a cold stage pays the same.
                "lock_cpu_seconds": lock["lock_cpu_seconds"],
                "deck_cpu_seconds": cold,
                # The lock's cost as a build pays it: that addition to the stage's CPU time in a
                # fresh process (Markdown rendered, as in every build).
                "lock_build_cpu_ratio": (cold + lock["lock_cpu_seconds"]) / cold,
                # The same against the stage with every cache warm (Markdown already rendered):
                # the lock's cost against the least the stage can cost.
                "lock_cpu_ratio": lock["lock_cpu_ratio"],
                "peak_rss_mb": max(r["rss_mb"] for r in ours),
            }
        )
    return rows


def bench_cheatsheet_scale(work: Path, sizes: list[int]) -> list[dict]:
    """The cheat sheet against a bare WeasyPrint render of its HTML, at growing sizes."""
    from generator.render.cheatsheet import cheatsheet_html, render_cheatsheet

    rows = []
    for size in sizes:
        bank = check(write_bank(work, size)).bank
        options = RenderOptions(templates=TEMPLATES, epoch=EPOCH)
        ours, rendered = timed(render_cheatsheet, bank, "b", options)
        html = cheatsheet_html(bank, options)
        bare, _ = timed(bare_weasyprint, html)
        rows.append(
            {
                "questions": size,
                "cheatsheet_seconds": ours,
                "bare_weasyprint_seconds": bare,
                "ratio": ours / bare,
                "pdf_kb": len(rendered.artifacts[0].data) / 1024,
            }
        )
    return rows


def bench_site(work: Path, runs: int, size: int = 1000) -> dict:
    """The study site: its size, its build, a ``prepdeck serve`` rebuild after one edit, and at scale."""
    from generator.model import OutputKind
    from generator.serve import Preview

    site = frozenset({OutputKind.SITE})
    out = work / "site-out"
    bank = check(PRODUCT).bank
    # No action cache: every build here renders the site (with it, all runs after the first reuse it).
    request = BuildRequest(
        content=PRODUCT,
        out=out,
        epoch=EPOCH,
        outputs=site,
        selection=_all_ids(bank),
        name="all",
        use_cache=False,
    )
    # The first build in a process also imports the site's modules and compiles the highlighter's
    # and Markdown's patterns, once; the later ones are what each further site of a build costs.
    first_seconds, _ = timed(build, request)
    seconds = median_time(lambda: build(request), runs)
    folder = out / f"{bank.slug}-all-site"
    fonts = (".woff", ".woff2", ".ttf", ".otf")
    files = [p for p in folder.rglob("*") if p.is_file()]
    size_bytes = sum(p.stat().st_size for p in files if p.suffix not in fonts)
    # serve: the same bank copied, one question's text edited, the rebuild that follows timed.
    content = work / "serve-content"
    shutil.copytree(PRODUCT, content, ignore=shutil.ignore_patterns("__pycache__"))
    preview = Preview(content, work / "serve-site", TEMPLATES)
    preview.rebuild()
    path = next(content.glob("questions/*/*.yaml"))
    source = path.read_text(encoding="utf-8")
    edits = []
    for run in range(runs):
        path.write_text(source.replace("question: ", f"question: Edit {run} of ", 1), encoding="utf-8")
        report = preview.rebuild([path])
        assert not report.problems and report.pages == 3, report
        edits.append(report.seconds)
    large = write_bank(work, size)
    large_request = BuildRequest(
        content=large, out=work / "site-large", epoch=EPOCH, outputs=site, use_cache=False
    )
    large_seconds = median_time(lambda: build(large_request), 3)
    large_folder = next((work / "site-large").glob("*-site"))
    latency = search_latency(large_folder / "index.html")
    return {
        "site_kb": size_bytes / 1000,
        "site_files": len(files),
        "site_first_in_process_seconds": first_seconds,
        "site_seconds": seconds,
        "serve_edit_rebuild_seconds": statistics.median(edits),
        "large_questions": size,
        "large_site_seconds": large_seconds,
        "large_site_kb": sum(p.stat().st_size for p in large_folder.rglob("*") if p.is_file()) / 1000,
        **latency,
    }


# Type each query into the index's search box, one keystroke at a time as a person does, and
# time each keystroke from the input event until the next frame after it: the filtered list on screen.
_TYPE_QUERIES = """async (queries) => {
  const search = document.getElementById('search');
  const frame = () => new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
  const times = [];
  for (const query of queries) {
    for (let end = 1; end <= query.length; end++) {
      await frame();
      const started = performance.now();
      search.value = query.slice(0, end);
      search.dispatchEvent(new Event('input', {bubbles: true}));
      await frame();
      times.push(performance.now() - started);
    }
  }
  return {times, shown: document.querySelectorAll('.question-item:not([hidden])').length};
}"""


def search_latency(index: Path) -> dict:
    """Search a large site's index in headless Chromium: median and slowest keystroke, in ms."""
    sys.path.insert(0, str(ROOT / "tests"))
    from browser_support import browser, chromium_available

    if not chromium_available():
        print("Chromium or Playwright is missing: the site's search latency is not measured", file=sys.stderr)
        return {}
    with browser() as chromium:
        page = chromium.new_page()
        page.goto(index.as_uri())
        found = page.evaluate(_TYPE_QUERIES, ["rollback path", "case 999", "monitoring drift"])
        page.close()
    times = sorted(found["times"])
    assert found["shown"] >= 1, "the last query found nothing"
    return {"search_ms_median": statistics.median(times), "search_ms_slowest": times[-1]}


def bench_hostile_input(work: Path) -> dict:
    """Time how fast hostile or oversized files are refused (the tests check only the messages)."""
    import yaml

    from generator import load
    from generator.errors import GeneratorError, Problems

    laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    content = write_bank(work / "hostile", 1)
    (content / "questions" / "bomb.yaml").write_text(laughs)

    def check_bomb() -> None:
        with contextlib.suppress(GeneratorError):
            check(content)

    def parse(text: str, parser) -> None:
        saved = load.Parser
        load.Parser = parser
        try:
            load.parse_yaml(text, "f.yaml", Problems())
        finally:
            load.Parser = saved

    big = work / "big.yaml"
    big.write_bytes(b"a: " + b"x" * load.MAX_FILE_BYTES)
    structures = {
        "deep block nesting": "".join("  " * d + "a:\n" for d in range(100)) + "  " * 100 + "leaf\n",
        "10,000-item list": "items:\n" + "  - x\n" * 10_000,
        "10,000-key mapping": "keys: {" + ", ".join(f"k{i}: {i}" for i in range(10_000)) + "}\n",
        "1 MB string": "answer: " + "x" * 1_000_000 + "\n",
        "10,000 flow levels": "[" * 10_000 + "]" * 10_000,
    }
    parsers = {"default": load.Parser, "pure-python": yaml.SafeLoader}
    slowest = max(
        timed(parse, text, parser)[0] for text in structures.values() for parser in parsers.values()
    )
    return {
        "alias_bomb_check_seconds": timed(check_bomb)[0],
        "oversized_file_seconds": timed(load.read_text, big, Problems(), work)[0],
        "oversized_structure_max_seconds": slowest,
    }


def system_font_templates(work: Path) -> Path:
    """Return a copy of the templates that sets the PDFs in the system's DejaVu, as before fonts shipped."""
    import re

    from generator.render import fonts

    copy = work / "templates-system-fonts"
    shutil.copytree(TEMPLATES, copy)
    stacks = {
        ", ".join(f'"{f}"' for f in fonts.CODE_STACK): '"DejaVu Sans Mono"',
        ", ".join(f'"{f}"' for f in fonts.TEXT_STACK): '"DejaVu Sans"; font-stretch: semi-condensed',
    }
    for stylesheet in (copy / "css").glob("*.css"):
        text = re.sub(r'@import "fonts.css";\n', "", stylesheet.read_text())
        for stack, system in stacks.items():
            text = text.replace(stack, system)
        stylesheet.write_text(text)
    return copy


def bench_fonts(work: Path, runs: int) -> dict:
    """The shipped bank's cheat sheet and flashcards set in the shipped fonts and in the system's DejaVu.

    Each with fontTools subsetting (forced) and, where libharfbuzz-subset0 is
    installed, with HarfBuzz-Subset: median render time and the PDFs' size.
    Also the cost of reading the shipped fonts' widths for the layout estimates.
    """
    import weasyprint.pdf.fonts as weasyprint_fonts

    from generator.render import fonts
    from generator.render.cheatsheet import render_cheatsheet
    from generator.render.flashcards import render_flashcards

    bank = check(PRODUCT).bank
    harfbuzz = weasyprint_fonts.harfbuzz_subset
    subsetters = {"fonttools": None}
    if harfbuzz is not None:
        subsetters["harfbuzz_subset"] = harfbuzz
    faces = {"shipped": TEMPLATES, "system_dejavu": system_font_templates(work)}

    def render(templates: Path) -> list[bytes]:
        options = RenderOptions(templates=templates, epoch=EPOCH)
        return [r(bank, "b", options).artifacts[0].data for r in (render_cheatsheet, render_flashcards)]

    rows: dict = {}
    try:
        for subsetter, library in subsetters.items():
            weasyprint_fonts.harfbuzz_subset = library
            times: dict[str, list[float]] = {face: [] for face in faces}
            for _ in range(runs):  # alternate, so a busy moment slows both alike
                for face, templates in faces.items():
                    times[face].append(timed(render, templates)[0])
            for face, templates in faces.items():
                sheet, cards = render(templates)
                rows[f"{face}_{subsetter}"] = {
                    "seconds": statistics.median(times[face]),
                    "cheatsheet_kb": len(sheet) / 1024,
                    "flashcards_kb": len(cards) / 1024,
                }
    finally:
        weasyprint_fonts.harfbuzz_subset = harfbuzz
    result: dict = {"renders": rows, "harfbuzz_subset_installed": harfbuzz is not None}
    for subsetter in subsetters:
        ours, system = rows[f"shipped_{subsetter}"], rows[f"system_dejavu_{subsetter}"]
        result[f"time_ratio_{subsetter}"] = ours["seconds"] / system["seconds"]
        result[f"size_ratio_{subsetter}"] = (ours["cheatsheet_kb"] + ours["flashcards_kb"]) / (
            system["cheatsheet_kb"] + system["flashcards_kb"]
        )
    folder = TEMPLATES / "css" / "fonts"
    result["shipped_fonts_kb"] = sum(p.stat().st_size for p in folder.glob("*.ttf")) / 1024
    started = time.perf_counter()
    fonts.Metrics(fonts.faces(TEMPLATES))  # what the first estimate of a process pays
    result["metrics_first_read_ms"] = 1000 * (time.perf_counter() - started)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="1000,5000", help="synthetic bank sizes for the deck stage")
    parser.add_argument("--sheet-sizes", default="100,300,1000", help="sizes for the cheat-sheet growth")
    parser.add_argument("--site-only", action="store_true", help="measure the study site alone")
    parser.add_argument("--fonts-only", action="store_true", help="measure the PDFs' fonts alone")
    parser.add_argument("--media-only", action="store_true", help="measure images and formulas alone")
    parser.add_argument("--cache-only", action="store_true", help="measure rebuilds and the deck stage alone")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="prepdeck-bench-banks-"))
    results: dict = {
        "machine": {
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "system": platform.platform(),
        }
    }
    every = {
        "site": lambda: bench_site(work, args.runs),
        "fonts": lambda: bench_fonts(work, args.runs),
        "media": lambda: bench_media(work, args.runs),
        "default_build": lambda: bench_default_build(args.runs),
        "pdf_overhead": lambda: bench_pdf_overhead(args.runs),
        "noop_make_build": bench_noop_make,
        "incremental": lambda: bench_incremental(work, args.runs),
        "scale_build": lambda: bench_scale_build(work),
        "hostile_input": lambda: bench_hostile_input(work),
        "scale": lambda: bench_scale(work, [int(s) for s in args.sizes.split(",")]),
        "cheatsheet_scale": lambda: bench_cheatsheet_scale(
            work, [int(s) for s in args.sheet_sizes.split(",")]
        ),
    }
    # A section run alone (``--<name>-only``): the measures of ``every`` it takes, its targets, its printout.
    sections = {
        "cache": (("incremental", "scale_build", "scale"), cache_targets, print_cache),
        "media": (("media",), lambda r: media_targets(r["media"]), None),
        "fonts": (("fonts",), lambda r: font_targets(r["fonts"]), lambda r: print_fonts(r["fonts"])),
        "site": (("site",), lambda r: site_targets(r["site"]), None),
    }
    only = next((name for name in sections if getattr(args, f"{name}_only")), None)
    if only is not None:
        names, section_targets, show = sections[only]
        try:
            results.update((name, every[name]()) for name in names)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        results["targets"] = target_table(section_targets(results))
        (args.out / f"results-{only}.json").write_text(json.dumps(results, indent=2) + "\n")
        print_targets(results["targets"])
        if show is not None:
            show(results)
        return 0 if only == "media" else status(results["targets"])  # media reports, never fails
    partial = args.out / "results-partial.json"
    try:
        for name, measure in every.items():
            results[name] = measure()
            # What is measured so far survives a later section's failure.
            partial.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sheet = results["cheatsheet_scale"]
    first, last = sheet[0], sheet[-1]
    results["cheatsheet_growth"] = {
        "per_question_ms_small": 1000 * first["cheatsheet_seconds"] / first["questions"],
        "per_question_ms_large": 1000 * last["cheatsheet_seconds"] / last["questions"],
    }
    results["targets"] = targets(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    partial.unlink()
    print_table(results)
    print(f"\nwritten {args.out / 'results.json'}")
    return status(results["targets"])


def cache_targets(results: dict) -> list[tuple[str, float, str, float]]:
    """The targets of rebuilds and the deck stage: an edit against a cold build, scale, genanki."""
    incremental, scale_build = results["incremental"], results["scale_build"]
    rows = [
        ("one-answer edit rebuild / cold build (shipped bank)", incremental["one_edit_ratio"], "<=", 0.6),
        (
            "one-answer edit: outputs rendered but not expected, or expected but not",
            incremental["one_edit_unexpected"],
            "<=",
            0,
        ),
        (
            f"peak memory MB (PSS, build and workers), full build at {scale_build['questions']}",
            scale_build["peak_memory_mb"],
            "<",
            500.0,
        ),
        (
            f"one-question edit at {scale_build['questions']}: outputs rendered but not expected, or not",
            scale_build["one_edit_unexpected"],
            "<=",
            0,
        ),
    ]
    for row in results["scale"]:
        rows.append((f"deck / bare genanki at {row['questions']}", row["deck_ratio"], "<=", 1.3))
        rows.append((f"peak RSS MB at {row['questions']}", row["peak_rss_mb"], "<", 500.0))
        rows.append(
            (f"deck with lock / without at {row['questions']}, CPU", row["lock_build_cpu_ratio"], "<", 1.1)
        )
    return rows


def status(table: list[dict]) -> int:
    """Return the exit status: 1, naming them, when any target is missed."""
    missed = [row["measure"] for row in table if not row["met"]]
    for measure in missed:
        print(f"target missed: {measure}", file=sys.stderr)
    return 1 if missed else 0


def site_targets(site: dict) -> list[tuple[str, float, str, float]]:
    """The study site's targets: (measure, value, operator, limit)."""
    size = site["large_questions"]
    rows = [
        ("site of the shipped bank without fonts, KB", site["site_kb"], "<", 500.0),
        ("site build (shipped bank), median s", site["site_seconds"], "<", 0.5),
        ("serve rebuild after a one-question edit, median s", site["serve_edit_rebuild_seconds"], "<", 0.3),
        (f"site build at {size} questions, s", site["large_site_seconds"], "<", 10.0),
    ]
    if "search_ms_median" in site:  # measured when Chromium is installed
        rows.append(
            (f"search at {size} questions in Chromium, median ms", site["search_ms_median"], "<", 50.0)
        )
    return rows


def font_targets(fonts: dict) -> list[tuple[str, float, str, float]]:
    """The shipped fonts' targets: what they cost against the system's DejaVu, measured in one run."""
    rows = []
    for subsetter in ("fonttools", "harfbuzz_subset"):
        if f"time_ratio_{subsetter}" in fonts:
            rows.append(
                (
                    f"PDFs in shipped fonts / DejaVu, time ({subsetter})",
                    fonts[f"time_ratio_{subsetter}"],
                    "<=",
                    1.2,
                )
            )
            rows.append(
                (
                    f"PDFs in shipped fonts / DejaVu, size ({subsetter})",
                    fonts[f"size_ratio_{subsetter}"],
                    "<=",
                    1.2,
                )
            )
    rows.append(("reading the shipped fonts' widths, ms", fonts["metrics_first_read_ms"], "<", 300.0))
    return rows


def print_fonts(fonts: dict) -> None:
    for name, row in fonts["renders"].items():
        print(
            f"{name:>30}: cheat sheet + flashcards {row['seconds']:.2f} s, "
            f"{row['cheatsheet_kb']:.0f} KB + {row['flashcards_kb']:.0f} KB"
        )
    print(f"shipped font files: {fonts['shipped_fonts_kb']:.0f} KB")


def media_targets(media: dict) -> list[tuple[str, float, str, float]]:
    """Diagrams and formulas: what they add to a build of the same bank."""
    return [("build of the shipped bank / same without images and formulas, CPU", media["ratio"], "<", 1.1)]


def targets(results: dict) -> list[dict]:
    """Each target with its measured value and whether it is met."""
    rows = [
        *site_targets(results["site"]),
        *font_targets(results["fonts"]),
        *media_targets(results["media"]),
        (
            "default build (shipped bank), median s",
            results["default_build"]["default_bank_seconds"],
            "<",
            3.0,
        ),
        (
            "same, a fresh prepdeck process, median s",
            results["default_build"]["default_bank_cli_seconds"],
            "<",
            3.0,
        ),
        ("PDFs / bare WeasyPrint", results["pdf_overhead"]["ratio"], "<=", 1.3),
        ("no-op make build, s", results["noop_make_build"]["noop_make_build_seconds"], "<", 0.5),
        ("alias bomb refused, s", results["hostile_input"]["alias_bomb_check_seconds"], "<", 1.0),
        ("1 MiB file refused, s", results["hostile_input"]["oversized_file_seconds"], "<", 1.0),
        (
            "oversized YAML refused, slowest s",
            results["hostile_input"]["oversized_structure_max_seconds"],
            "<",
            2.0,
        ),
    ]
    rows += cache_targets(results)
    for row in results["cheatsheet_scale"]:
        if row["questions"] >= 1000:
            rows.append((f"cheat sheet / bare WeasyPrint at {row['questions']}", row["ratio"], "<=", 1.2))
    growth = results["cheatsheet_growth"]
    rows.append(
        (
            "cheat sheet ms/question, large / small (linear ~1)",
            growth["per_question_ms_large"] / growth["per_question_ms_small"],
            "<=",
            1.5,
        )
    )
    return target_table(rows)


def target_table(rows: list[tuple[str, float, str, float]]) -> list[dict]:
    """Return the rows as the results' table: value, target and whether it is met."""
    table = []
    for name, value, op, limit in rows:
        met = value < limit if op == "<" else value <= limit
        table.append({"measure": name, "value": round(value, 3), "target": f"{op} {limit}", "met": met})
    return table


def print_targets(table: list[dict]) -> None:
    width = max(len(row["measure"]) for row in table)
    print(f"{'measure'.ljust(width)}  {'value':>9}  {'target':>8}  met")
    for row in table:
        print(
            f"{row['measure'].ljust(width)}  {row['value']:>9.3f}  {row['target']:>8}  "
            f"{'yes' if row['met'] else 'NO'}"
        )


def print_cache(results: dict) -> None:
    row = results["incremental"]
    print(
        f"shipped bank, {row['outputs']} outputs: cold {row['cold_seconds']:.2f} s, one-answer edit "
        f"{row['one_edit_seconds']:.2f} s ({row['one_edit_rendered']} rendered, "
        f"{row['one_edit_reused']} reused), "
        f"unchanged {row['unchanged_seconds']:.2f} s, cache {row['cache_kb']:.0f} KB"
    )
    row = results["scale_build"]
    print(
        f"{row['questions']} questions, full build: cold {row['cold_seconds']:.1f} s, one edit "
        f"{row['one_edit_seconds']:.1f} s ({', '.join(row['one_edit_rendered_names'])} rendered), "
        f"peak memory {row['peak_memory_mb']:.0f} MB (RSS summed {row['peak_rss_sum_mb']:.0f} MB, "
        f"largest process {row['largest_process_mb']:.0f} MB), cache {row['cache_mb']:.1f} MB"
    )
    for row in results["scale"]:
        print(
            f"{row['questions']:>6} questions: deck {row['deck_seconds']:.2f} s vs bare genanki "
            f"{row['bare_genanki_seconds']:.2f} s ({row['deck_ratio']:.2f}x), "
            f"peak RSS {row['peak_rss_mb']:.0f} MB; the lock adds {1000 * row['lock_cpu_seconds']:.0f} ms "
            f"CPU to {row['deck_cpu_seconds']:.2f} s ({row['lock_build_cpu_ratio']:.3f}x; "
            f"{row['lock_cpu_ratio']:.3f}x with warm caches)"
        )


def print_table(results: dict) -> None:
    print_targets(results["targets"])
    print_fonts(results["fonts"])
    build_row = results["default_build"]
    print(
        f"\nshipped bank, nothing changed, all reused: {build_row['default_bank_cached_seconds']:.2f} s"
        f"\nwith subsets: {build_row['with_subsets_seconds']:.2f} s on {build_row['cores']} cores, "
        f"serial {build_row['with_subsets_serial_seconds']:.2f} s "
        f"(parallel speed-up {build_row['parallel_speedup']:.2f}x)"
    )
    print_cache(results)
    for row in results["scale"]:
        print(
            f"{row['questions']:>6} questions: load+validate {row['load_validate_seconds']:.2f} s, "
            f"deck {row['deck_seconds']:.2f} s vs bare genanki {row['bare_genanki_seconds']:.2f} s, "
            f"peak RSS {row['peak_rss_mb']:.0f} MB"
        )
    for row in results["cheatsheet_scale"]:
        print(
            f"{row['questions']:>6} questions: cheat sheet {row['cheatsheet_seconds']:.2f} s vs bare "
            f"WeasyPrint {row['bare_weasyprint_seconds']:.2f} s ({row['pdf_kb']:.0f} KB)"
        )


if __name__ == "__main__":
    sys.exit(main())
