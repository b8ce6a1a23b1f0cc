"""prepdeck: turn a question bank into Anki decks, cheat sheets and flashcards.

The pipeline, one module per stage: ``load`` → ``validate`` → ``select`` →
``render`` → ``write``, driven by ``build``. Use it as a library::

    from generator.build import BuildRequest, build, check
    bank = check(Path("content")).bank
    build(BuildRequest(content=Path("content"), out=Path("build")))
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("prepdeck")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
