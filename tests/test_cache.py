"""The action cache on its own: entries round-trip, damage is found, the size bound holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.cache import ActionCache, Entry, digest, load_warnings, store_warnings
from generator.errors import Problem, Severity
from generator.model import Artifact, Location
from generator.render.fonts import MissingGlyphs, merge_missing

KEY = digest("key")


def entry(size: int = 3000) -> Entry:
    return Entry(
        (Artifact("deck-cheatsheet.pdf", bytes(range(256)) * (size // 256)), Artifact("empty.txt", b"")),
        inputs=(("templates/css/cheatsheet.css", digest("css")),),
        warnings=({"message": "too long", "severity": "warning", "question": "q1"},),
    )


def test_an_entry_comes_back_as_stored(tmp_path: Path):
    cache = ActionCache(tmp_path / "cache")
    assert cache.get(KEY) is None
    cache.put(KEY, entry())
    assert ActionCache(tmp_path / "cache").get(KEY) == entry()
    assert cache.damaged == []


def test_the_key_hashes_each_part_apart():
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("a", "b") == digest(b"a", b"b")


def stored(tmp_path: Path) -> tuple[ActionCache, Path]:
    cache = ActionCache(tmp_path / "cache")
    cache.put(KEY, entry())
    (path,) = [p for p, _ in cache.entries()]
    return cache, path


@pytest.mark.parametrize("keep", [0, 5, 20, 47, 60, 1000, -1])
def test_a_truncated_entry_is_found_removed_and_reported_once(tmp_path: Path, keep: int):
    cache, path = stored(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    assert cache.get(KEY) is None
    assert cache.damaged == [KEY]
    assert not path.exists()
    assert cache.get(KEY) is None  # gone, not damaged twice
    assert cache.damaged == [KEY]


def test_every_flipped_byte_is_found(tmp_path: Path):
    cache, path = stored(tmp_path)
    data = path.read_bytes()
    # Every byte of the magic, header and metadata, then a stride through the file data.
    positions = [*range(0, 400), *range(400, len(data), 97), len(data) - 1]
    for position in positions:
        damaged = bytearray(data)
        damaged[position] ^= 0x20
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(damaged))
        assert cache.get(KEY) is None, position
    assert cache.damaged == [KEY] * len(positions)


def test_an_entry_under_another_key_is_not_served(tmp_path: Path):
    cache, path = stored(tmp_path)
    other = digest("other")
    target = tmp_path / "cache" / other[:2] / other[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    assert cache.get(other) is None
    assert cache.damaged == [other]


def test_the_least_recently_used_entries_go_first(tmp_path: Path):
    _, path = stored(tmp_path / "measure")
    size = path.stat().st_size
    cache = ActionCache(tmp_path / "cache", max_bytes=3 * size)
    keys = [digest(str(n)) for n in range(5)]
    for age, key in enumerate(keys):
        cache.put(key, entry())
        path = tmp_path / "cache" / key[:2] / key[2:]
        os.utime(path, ns=(age * 10**9, age * 10**9))
    assert cache.get(keys[0]) is not None  # used now: the most recent
    assert cache.evict() == 2
    assert cache.size() <= 3 * size
    assert [cache.get(key) is not None for key in keys] == [True, False, False, True, True]


def test_a_cache_within_its_bound_keeps_everything(tmp_path: Path):
    cache = ActionCache(tmp_path / "cache")
    for n in range(3):
        cache.put(digest(str(n)), entry())
    assert cache.evict() == 0
    assert all(cache.get(digest(str(n))) for n in range(3))


def test_a_cache_that_cannot_be_written_only_logs(tmp_path: Path, caplog):
    (tmp_path / "file").write_text("in the way")
    cache = ActionCache(tmp_path / "file" / "cache")
    cache.put(KEY, entry())
    assert cache.get(KEY) is None
    assert "cannot store cache entry" in caplog.text


def test_warnings_keep_their_question_not_its_path():
    at = Location("content/questions/a.yaml", 3)
    problems = [
        Problem("card too long", at, Severity.WARNING),
        Problem("sheet too long", None, Severity.WARNING),
        Problem("elsewhere", Location("bank.yaml", 1), Severity.WARNING),
    ]
    kept = store_warnings(problems, {at: "q1"})
    assert kept[0] == {"message": "card too long", "severity": "warning", "question": "q1"}
    moved = Location("../content/questions/a.yaml", 5)
    assert load_warnings(kept, {"q1": moved}) == (
        Problem("card too long", moved, Severity.WARNING),
        problems[1],
        problems[2],
    )


def test_a_reused_outputs_missing_glyphs_merge_with_a_rendered_outputs():
    """A cheat sheet from the cache and fresh flashcards name a question's missing characters once."""
    at = Location("content/questions/q2.yaml", 1)
    cached = MissingGlyphs("no font can draw '什'", at, Severity.WARNING, "q2", "什")
    rendered = MissingGlyphs("no font can draw '么'", at, Severity.WARNING, "q2", "么")
    [reused] = load_warnings(store_warnings([cached], {at: "q2"}), {"q2": at})
    assert reused == cached and isinstance(reused, MissingGlyphs)
    [merged] = merge_missing([reused, rendered])
    assert (merged.question, merged.chars) == ("q2", "么什")
