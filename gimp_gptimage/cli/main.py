"""`gimp-gptimage`: the main job without GIMP, plus the local server, history, install and the dialog.

Exit status: 0 success, 2 usage or validation errors (nothing was sent), 1 API, network or other errors,
130 interrupted. Every error is one line from `api.errors.explain`, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from .. import __version__
from ..api.errors import ConfigError, ValidationError, explain
from .status import EXIT_OK, exit_code_for

PROG = "gimp-gptimage"


class UsageError(ValidationError):
    """The command line itself is wrong."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem as one line (exit 2) instead of printing the usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds cannot be negative")
    return value


def _add_image_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt", required=True, metavar="TEXT", help="what to draw or change (up to 32,000 characters)")
    p.add_argument(
        "--model",
        metavar="M",
        help="e.g. gpt-image-2.6-sunburst, gpt-image-2.6-flare, gpt-image-2, gpt-image-1.5 (default: the provider's)",
    )
    p.add_argument("--size", default="auto", metavar="S", help="auto, or WIDTHxHEIGHT (2.x models: 16-px grid)")
    p.add_argument(
        "--quality", default="auto", metavar="Q", help="auto, low, medium, high; xhigh and max on 2.5 and 2.6"
    )
    p.add_argument("--complexity", metavar="C", help="low, medium or high: planning before drawing (2.6 only)")
    p.add_argument("-n", type=_int, default=1, help="number of results (1-10)")
    p.add_argument("--output-format", metavar="F", help="png, jpeg or webp (what the model returns)")
    p.add_argument("--output-compression", type=_int, metavar="C", help="0-100, jpeg/webp only")
    p.add_argument("--background", metavar="B", help="auto, opaque, transparent")
    p.add_argument("--moderation", metavar="M", help="auto or low")
    p.add_argument("--stream", action="store_true", help="stream partial images while the model works")
    p.add_argument("--partial-images", type=_int, metavar="K", help="0-3 previews while streaming (needs --stream)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--provider", metavar="NAME", help="openai, crazyrouter, quickrouter, local, or one from settings"
    )
    where.add_argument("--base-url", metavar="URL", help="any OpenAI-compatible API, e.g. https://api.openai.com/v1")
    p.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default: ./out)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    p.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="give up when the provider sends nothing for S seconds (default 600: high quality takes minutes)",
    )
    p.add_argument(
        "--stall-timeout",
        type=_seconds,
        metavar="S",
        help="give up when an answer that has begun stops arriving for S seconds (default 60; streams use --timeout)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Edit and generate images with OpenAI-compatible image models.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    edit = sub.add_parser("edit", help="edit the selected part of an image; unselected pixels stay untouched")
    edit.add_argument("image", type=Path, help="PNG, JPEG or WebP image to edit")
    which = edit.add_mutually_exclusive_group()
    which.add_argument(
        "--selection", type=Path, metavar="SEL.png", help="grayscale image, white = selected (GIMP's sense)"
    )
    which.add_argument(
        "--mask", type=Path, metavar="MASK.png", help="PNG with alpha, transparent = edit (the API's sense)"
    )
    edit.add_argument(
        "--ref", type=Path, action="append", default=[], metavar="FILE", help="reference image (repeatable)"
    )
    _add_image_options(edit)
    edit.add_argument("--input-fidelity", metavar="F", help="high or low (gpt-image-1.5; gpt-image-1-mini: low)")
    edit.add_argument(
        "--markup",
        type=Path,
        metavar="FILE",
        help="2.6 models: PNG the size of the image, transparent except arrows, circles and notes",
    )
    edit.add_argument("--context", choices=("auto", "whole", "padding"), help="how much surrounding to send")
    edit.add_argument("--padding", type=_int, metavar="PX", help="context padding around the selection, px")
    edit.add_argument("--grow", type=_int, metavar="PX", help="grow the editable area by this many px")
    edit.add_argument("--feather", type=_int, metavar="PX", help="feather the editable area's edge, px")
    edit.add_argument(
        "--blend-margin",
        type=_int,
        metavar="PX",
        help="let the paste-back blend this many px outside the selection (default 0: unselected pixels untouched)",
    )
    edit.add_argument("--no-colour-match", action="store_true", help="do not match the result's colours")

    from .expand import add_parser as add_expand_parser

    add_expand_parser(sub, _int, _seconds)

    gen = sub.add_parser("generate", help="generate new images from a prompt")
    _add_image_options(gen)

    from .serve import add_arguments as add_serve_arguments

    serve = sub.add_parser("serve", help="run the local API server (offline engine) until Ctrl+C")
    add_serve_arguments(serve, number=_int, seconds=_seconds)

    history = sub.add_parser("history", help="list, show or export past requests and results")
    hsub = history.add_subparsers(dest="history_command", metavar="ACTION", parser_class=_Parser)
    hsub.required = True
    hlist = hsub.add_parser("list", help="every request, newest first")
    hlist.add_argument("--json", action="store_true")
    hshow = hsub.add_parser("show", help="one request's record and result files")
    hshow.add_argument("id")
    hshow.add_argument("--json", action="store_true")
    hexport = hsub.add_parser("export", help="copy a request's results and record to a folder")
    hexport.add_argument("id")
    hexport.add_argument("dest", type=Path)

    install = sub.add_parser("install", help="install the GIMP 3 plug-in")
    install.add_argument("--gimp-dir", type=Path, metavar="DIR", help="GIMP's user folder (default: every one found)")
    uninstall = sub.add_parser("uninstall", help="remove the GIMP 3 plug-in")
    uninstall.add_argument("--gimp-dir", type=Path, metavar="DIR")
    sub.add_parser("doctor", help="check the installation, providers and keys")

    ui = sub.add_parser("ui", help="open the dialog on an image without GIMP")
    ui.add_argument("image", type=Path)
    ui.add_argument("--selection", type=Path, metavar="SEL.png")
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _tolerant_streams() -> None:
    """A console that cannot show a character (a Chinese prompt on a cp1252 console) must not crash us."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _tolerant_streams()
    json_errors = False
    secret: list[str] = []
    try:
        args = build_parser().parse_args(argv)
        json_errors = bool(getattr(args, "json", False))
        handler: Callable[[argparse.Namespace, list[str]], int] = _HANDLERS[args.command]
        return handler(args, secret)
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0) if isinstance(exc.code, int) else 0
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):  # Ctrl+C: the job was cancelled (history says so)
            import asyncio

            exc = asyncio.CancelledError()
        text = exc.message if isinstance(exc, UsageError) else explain(exc, secret[0] if secret else None).one_line()
        message = " ".join(text.split())
        code = exit_code_for(exc)
        _say(f"{PROG}: {message}")
        if json_errors:
            print(json.dumps({"ok": False, "error": message, "exit_status": code}))
        return code


def run() -> NoReturn:
    """The `gimp-gptimage` command and `python -m gimp_gptimage`: `main()`, then the process ends with its status."""
    status = main()
    # Everything goes with the process: the collector's passes over every object while the interpreter shuts
    # down are skipped (about 50 ms of each run). Here only, not in `main`, which tests call in-process.
    gc.freeze()
    sys.exit(status)


# -- edit / generate ------------------------------------------------------------------------------------------


def _cmd_images(args: argparse.Namespace, secret: list[str]) -> int:
    from . import inputs as readers
    from .background import in_background, input_errors_first

    # The input files are decoded in a thread of their own from the start (OpenCV and Pillow release the
    # GIL) while this one imports the rest, reads the settings, opens the backend and gets the client
    # ready. The readers' own imports come first, here: imports hold the GIL, so in the thread they would
    # wait for this one's.
    loading = in_background(_read_edit_files, args, readers) if args.command == "edit" else None
    import asyncio

    from ..api.params import ImageParams
    from ..keystore import offline_notice, open_backend
    from ..settings import SettingsStore

    store = SettingsStore()
    settings = store.load()
    for note in [store.problem, *store.notices] if store.problem else store.notices:
        _say(f"{PROG}: {note}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder for the results.")
    with input_errors_first(loading), open_backend(settings, args.provider, args.base_url) as backend:
        secret.append(backend.api_key)
        if backend.is_local:
            _say(" ".join(offline_notice()))
        params = ImageParams(
            prompt=args.prompt,
            model=args.model or settings.provider_model(backend.name, backend.provider),
            n=args.n,
            size=args.size,
            quality=args.quality,
            background=args.background,
            output_format=args.output_format,
            output_compression=args.output_compression,
            input_fidelity=getattr(args, "input_fidelity", None),
            complexity=args.complexity,
            moderation=args.moderation,
            stream=args.stream,
            partial_images=args.partial_images,
        )
        from .output import run_and_write

        timeouts = settings.timeouts.timeouts(read=args.timeout, stall=args.stall_timeout)
        edit_inputs = (lambda: _edit_inputs(args, settings, loading.result())) if loading is not None else None
        summary = asyncio.run(run_and_write(args, params, backend, edit_inputs, timeouts))
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    if summary.get("usage"):
        _say(_cost_line(summary["usage"], summary.get("cost_usd")))
    _prune_history(settings, summary.get("history_id"))
    if summary.get("error"):
        _say(f"{PROG}: {summary['error']}")
        return int(summary["exit_status"])
    return EXIT_OK


def _cost_line(usage: dict[str, Any], cost: float | None) -> str:
    from ..cost import format_dollars

    if cost == 0:
        return "Cost: nothing (the offline engine is free)."
    tokens = f"{usage.get('input_tokens') or 0:,} input + {usage.get('output_tokens') or 0:,} output tokens"
    if cost is None:
        return f"Usage: {tokens} (no price known for this model)."
    return f"Cost: {format_dollars(cost)} ({tokens}, at OpenAI's token prices)."


def _prune_history(settings: Any, just_made: str | None) -> None:
    """Apply the user's history clean-up policy, if they set one (the default keeps everything)."""
    from ..history import HistoryStore

    try:
        removed = HistoryStore().prune(settings.history, keep=[just_made] if just_made else [])
    except OSError as exc:
        _say(f"{PROG}: history clean-up failed ({exc.strerror}); nothing else is affected.")
        return
    if removed:
        _say(f"History clean-up (your settings): removed {len(removed)} old request(s).")


def _read_edit_files(args: argparse.Namespace, inputs: ModuleType) -> tuple[Any, Any, list[Any], Any, bool]:
    """The edit's files as arrays: layer, selection (or None), references, markup (or None), and whether the
    image has an alpha channel. Runs in the input thread: only the readers (`cli.inputs`), nothing that
    needs settings."""
    from .background import in_background

    # The selection (or mask) is decoded beside the image, in a thread of its own, at the header's size.
    size = inputs.image_size(args.image, "image")
    if args.selection is not None:
        selecting = in_background(inputs.load_selection, args.selection, size)
    elif args.mask is not None:
        selecting = in_background(inputs.load_mask, args.mask, size)
    else:
        selecting = None
    layer = inputs.load_rgba(args.image, "image")
    selection = selecting.result() if selecting is not None else None
    references = [inputs.load_rgba(path, "reference image") for path in args.ref]
    markup = inputs.load_markup(args.markup, size) if args.markup is not None else None
    return layer, selection, references, markup, inputs.has_alpha(args.image)


def _edit_inputs(args: argparse.Namespace, settings: Any, files: tuple[Any, Any, list[Any], Any, bool]) -> Any:
    from ..jobs.context import context_options
    from ..pipeline.errors import PipelineInputError
    from .output import EditInputs

    layer, selection, references, markup, alpha = files
    try:
        options = context_options(
            settings.context,
            mode=args.context,
            padding_px=args.padding,
            grow_px=args.grow,
            feather_px=args.feather,
            blend_margin_px=args.blend_margin,
            colour_match=False if args.no_colour_match else None,
        )
    except PipelineInputError as exc:
        raise UsageError(str(exc)) from None
    return EditInputs(layer, selection, references, options, args.image.name, alpha, markup)


def _cmd_expand(args: argparse.Namespace, secret: list[str]) -> int:
    from .expand import run

    return run(args, secret, UsageError)


# -- serve ------------------------------------------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace, secret: list[str]) -> int:
    from .serve import run

    run(args, UsageError)
    return EXIT_OK


# -- history ----------------------------------------------------------------------------------------------------


def _cmd_history(args: argparse.Namespace, secret: list[str]) -> int:
    from ..history import HistoryStore
    from .history import print_entry, print_list

    store = HistoryStore()
    if args.history_command == "list":
        entries = store.list()
        if not entries and not args.json:
            _say(f"No history yet (looked in {store.root}).")
        print_list(entries, as_json=args.json)
        return EXIT_OK
    if args.history_command == "show":
        print_entry(store.get(args.id), as_json=args.json)
        return EXIT_OK
    for path in store.export(args.id, args.dest):
        print(path)
    return EXIT_OK


# -- install / uninstall / doctor / ui ---------------------------------------------------------------------------


def _cmd_install(args: argparse.Namespace, secret: list[str]) -> int:
    from .. import desktop, install

    for path in install.install(args.gimp_dir):
        print(f"installed: {path}")
    window = desktop.probe_window()
    if not window.ok:
        # Installed all the same (the libraries can come later); say now what would stop the dialog.
        if window.tried or window.missing:
            _say("Warning: the GPT Image dialog will not open on this desktop yet.")
        for line in window.lines():
            _say(line)
    return EXIT_OK


def _cmd_uninstall(args: argparse.Namespace, secret: list[str]) -> int:
    from .. import install

    removed = install.uninstall(args.gimp_dir)
    for path in removed:
        print(f"removed: {path}")
    if not removed:
        _say("The plug-in was not installed; nothing to remove.")
    return EXIT_OK


def _cmd_doctor(args: argparse.Namespace, secret: list[str]) -> int:
    from .. import install

    for line in install.doctor():
        print(line)
    return EXIT_OK


def _cmd_ui(args: argparse.Namespace, secret: list[str]) -> int:
    for path in (args.image, args.selection):
        if path is not None and not path.is_file():
            raise UsageError(f"{path} does not exist or is not a file.")
    # Like the worker, the CLI hands over to the optional Qt dialog only here, at run time: the core itself
    # never depends on Qt.
    try:
        app = importlib.import_module("qt_ui.app")
    except ImportError as exc:
        raise ConfigError(
            f"The dialog cannot start ({exc}). Install the Qt parts: pip install 'PyQt6>=6.7' 'qasync>=0.27'."
        ) from None
    outcome = app.run_standalone(args.image, args.selection)
    return int(outcome) if isinstance(outcome, int) else EXIT_OK


_HANDLERS: dict[str, Callable[[argparse.Namespace, list[str]], int]] = {
    "edit": _cmd_images,
    "generate": _cmd_images,
    "expand": _cmd_expand,
    "serve": _cmd_serve,
    "history": _cmd_history,
    "install": _cmd_install,
    "uninstall": _cmd_uninstall,
    "doctor": _cmd_doctor,
    "ui": _cmd_ui,
}


if __name__ == "__main__":  # pragma: no cover
    run()
