"""The `armgrad` command: one subcommand per module in `COMMANDS`.

Each command module defines `register(subparsers)`, which adds its parser and sets
`func=run` on it; `run(args)` returns the exit status. Errors a user can fix are raised as
`CommandError` (or ValueError/TypeError/OSError) and printed as one line; `--debug` shows the
traceback instead. Running out of memory or of recursion depth is one line too (status 2), and
Ctrl-C is one line with status 130 (128 + SIGINT, the shell's convention). Warnings (a loader's
note about the user's file) are one line each too: "armgrad CMD: warning: ...".
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import warnings

# Module names, one per line; each contributes one subcommand, listed in this order in --help.
COMMANDS = [
    "demos.demo",
    "demos.robots_cmd",
    "demos.fk_cmd",
    "demos.solve_cmd",
    "demos.animate",
    "demos.teach",
    "demos.reach_cmd",
    "demos.train",
    "demos.graph",
]


# argparse takes "-2e-1" for an option (its own pattern knows only -2 and -.2): every armgrad
# parser reads any negative number, exponent form and -inf/-nan too (the commands then refuse
# non-finite values by name), as a value. The attribute is the same on Python 3.11-3.13.
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)

# The BLAS thread limit, kept for the life of the process (see `limit_blas_threads`).
_blas_limit = None


class CommandError(Exception):
    """A problem with the user's input, reported as one line and exit status 2."""


def accept_negative_numbers(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make `parser` read "-2e-1" (and any other negative number) as a value, not an option."""
    parser._negative_number_matcher = NEGATIVE_NUMBER
    return parser


def limit_blas_threads() -> None:
    """One BLAS thread for the whole process, set once.

    The solver's linear algebra is many small solves, for which BLAS threads only add
    synchronisation (an unreachable target on a 100-joint arm: 55 s with two OpenBLAS threads,
    2.5 s with one). A cached `ThreadpoolController().limit` is set once here (about 6 us), never
    per solve. Without threadpoolctl the command runs as before.
    """
    global _blas_limit
    if _blas_limit is not None:
        return
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    _blas_limit = ThreadpoolController().limit(limits=1, user_api="blas")


def build_parser() -> argparse.ArgumentParser:
    import autodiff

    parser = argparse.ArgumentParser(
        prog="armgrad",
        description="Inverse kinematics by backpropagation, and the autograd engine behind it.",
    )
    accept_negative_numbers(parser)
    parser.add_argument("--version", action="version", version=f"armgrad {autodiff.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    for command_parser in sub.choices.values():  # those not made by common.command_parser too
        accept_negative_numbers(command_parser)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    limit_blas_threads()  # after build_parser: numpy, hence its BLAS, is loaded by then
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(args.command)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"armgrad {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as err:
        if args.debug:
            raise
        detail = f" ({_clip(err)})" if str(err) else ""
        print(f"armgrad {args.command}: error: out of memory: the problem is too large for this machine{detail}",
              file=sys.stderr)
        return 2
    except RecursionError:
        if args.debug:
            raise
        print(f"armgrad {args.command}: error: out of recursion depth: the input is nested too deeply "
              f"(Python's limit is {sys.getrecursionlimit()} levels)", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`armgrad robots | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CommandError, ValueError, TypeError, OSError, KeyError, ImportError) as err:  # ImportError: a missing extra
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"armgrad {args.command}: error: {message}", file=sys.stderr)
        return 2


def _warning_printer(command: str):
    """warnings.showwarning that prints one line, 'armgrad CMD: warning: MESSAGE', without Python's
    file, line and source: a loader's warning (a URDF joint locked by a zero range) is about the
    user's file, not about armgrad's code."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"armgrad {command}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    return show


def _clip(err: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, at most `limit` characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
