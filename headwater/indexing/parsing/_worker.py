"""Entry point of a parser worker process: `python -m headwater.indexing.parsing._worker FD [MODULE ...]`.

FD is the worker's end of a socket pair its parent made (see `sandbox.py`); the modules are imported
before the worker reports ready. Kept apart from `sandbox.py` so that running it as `__main__` does
not load a second copy of a module the package already imported.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from headwater.indexing.parsing.sandbox import serve


def main(argv: list[str]) -> None:
    connection = Connection(int(argv[0]))
    serve(connection, tuple(argv[1:]))


if __name__ == "__main__":
    main(sys.argv[1:])
