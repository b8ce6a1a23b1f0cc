"""``python -m generator``: the ``prepdeck`` command, for an environment without its script."""

from generator.cli import main

main(prog_name="prepdeck")
