"""The `armgrad` command."""

import sys


def main(argv=None) -> int:
    import autodiff

    print(f"armgrad {autodiff.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
