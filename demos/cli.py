"""The `armgrad` command: one subcommand per module in `COMMANDS`.

Each command module defines `register(subparsers)`, which adds its parser and sets
`func=run` on it; `run(args)` returns the exit status. Errors a user can fix are raised as
`CommandError` (or ValueError/TypeError/OSError) and printed as one line; `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Module names, one per line; each contributes one subcommand, listed in this order in --help.
COMMANDS = [
    "demos.demo",
    "demos.robots_cmd",
    "demos.fk_cmd",
    "demos.solve_cmd",
    "demos.animate",
    "demos.train",
    "demos.graph",
]


class CommandError(Exception):
    """A problem with the user's input, reported as one line and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    import autodiff

    parser = argparse.ArgumentParser(
        prog="armgrad",
        description="Inverse kinematics by backpropagation, and the autograd engine behind it.",
    )
    parser.add_argument("--version", action="version", version=f"armgrad {autodiff.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader went away (`armgrad robots | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CommandError, ValueError, TypeError, OSError, KeyError) as err:
        if args.debug:
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"armgrad {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
