"""`python -m gimp_gptimage`: the same as the `gimp-gptimage` command."""

from .cli.main import run

run()
