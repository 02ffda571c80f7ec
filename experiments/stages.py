"""Running a benchmark stage as its own `advocacy` process: wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time


def run_stage(args: list[str], script: str | None = None) -> dict[str, object]:
    """Run ``advocacy ARGS``; return its seconds, peak RSS (MB) and standard output.

    ``script``, a Python file, runs instead of the ``advocacy`` entry point (with ARGS).
    """
    command = [sys.executable, *([script] if script else ["-m", "training.cli"]), *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode not in (0, 3):
            raise SystemExit(
                f"{' '.join(args[:2])} failed ({process.returncode}):\n"
                f"{err.read().decode()[-3000:]}"
            )
        return {
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": out.read().decode(),
        }
