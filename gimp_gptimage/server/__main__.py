"""`python -m gimp_gptimage.server`: the same as `gimp-gptimage serve`, for tests and scripts."""

from __future__ import annotations

import argparse

from .runner import add_serve_arguments, run_from_args


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gimp_gptimage.server", description=__doc__)
    add_serve_arguments(parser)
    run_from_args(parser.parse_args())


if __name__ == "__main__":
    main()
