"""`python -m gimp_gptimage.server`: the same as `gimp-gptimage serve`, for tests and scripts."""

from __future__ import annotations

import argparse

from ..cli.serve import add_arguments, run_or_exit


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gimp_gptimage.server", description=__doc__)
    add_arguments(parser)
    run_or_exit(parser.parse_args())


if __name__ == "__main__":
    main()
