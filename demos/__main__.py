import sys

from demos.cli import main

# The guard matters: --workers spawns worker processes, which import the main module again.
if __name__ == "__main__":
    sys.exit(main())
