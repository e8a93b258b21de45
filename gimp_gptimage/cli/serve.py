"""The `serve` command line, written once: `gimp-gptimage serve`, `python -m gimp_gptimage.server` and the
dialog's server process (server/child.py) take the same options and run them the same way.

Light on purpose (argparse only): building the CLI's parser must not load the server.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from ..api.errors import ConfigError
from ..api.providers import IMITATED


def add_arguments(
    parser: argparse.ArgumentParser, *, number: Callable[[str], int] = int, seconds: Callable[[str], float] = float
) -> None:
    """The options; `number` and `seconds` read the numeric ones (the CLI's say what is wrong in words)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=number, default=8765, help="port; 0 picks a free one (default: 8765)")
    profiles = [provider.name for provider in IMITATED]
    parser.add_argument("--profile", choices=profiles, default="openai", help="provider to imitate")
    parser.add_argument(
        "--require-key-env",
        metavar="VAR",
        help="accept only the API key in this environment variable (default: any non-empty key)",
    )
    parser.add_argument("--latency", type=seconds, default=0.0, help="artificial seconds before each answer")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault, e.g. status:429,retry_after=2 | html:502 | reset | reset_after:2 | drip:200 (repeatable)",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="mount fault injection and /_control/faults, loopback clients only (tests; implied by --fault)",
    )


def run(args: argparse.Namespace, usage_error: type[Exception] = ConfigError) -> None:
    """Serve until interrupted. A bad --fault raises `usage_error`; a port in use or a missing key variable
    raises ConfigError."""
    from ..server.faults import Fault
    from ..server.runner import serve

    faults: list[Any] = []
    for spec in args.fault:
        try:
            faults.append(Fault.parse(spec))
        except (ValueError, TypeError) as exc:
            raise usage_error(f"--fault {spec!r}: {exc}") from None
    api_key = None
    if args.require_key_env:
        api_key = os.environ.get(args.require_key_env)
        if not api_key:
            raise ConfigError(f"environment variable {args.require_key_env} is not set")
    # Fault machinery only when asked for (--faults, or a --fault given).
    plan = faults if args.faults or faults else None
    serve(host=args.host, port=args.port, profile=args.profile, api_key=api_key, latency=args.latency, faults=plan)


def run_or_exit(args: argparse.Namespace) -> None:
    """`run` for the plain entry points (no CLI around them): a problem is one line, `error: ...`, exit 1."""
    try:
        run(args)
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}") from None


__all__ = ["add_arguments", "run", "run_or_exit"]
