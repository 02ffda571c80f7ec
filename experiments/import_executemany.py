"""``advocacy`` with PostgreSQL batches written by executemany, the store's path before COPY.

bench_generate_import.py runs ``data import`` through this script to compare the two write
paths in the same run: every frame is below ``COPY_MIN_ROWS`` here, so
``Store.write_frame`` sends it through ``Store.write`` as parameter dicts.
"""

from __future__ import annotations

import sys

from features.data import store
from training.cli import main

if __name__ == "__main__":
    store.COPY_MIN_ROWS = sys.maxsize
    main()
