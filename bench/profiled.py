"""Run `python -m MODULE ARGS` under pyinstrument and write a text report at exit.

`python -m bench.profiled REPORT MODULE [ARGS...]` (REPORT.txt, and the session as
REPORT.pyisession). The pyinstrument CLI cannot profile
`mikrosync serve`: uvicorn re-raises SIGTERM after its graceful shutdown, which kills the
process before the report is written. Here SIGTERM becomes SystemExit once the program's own
handlers are gone, so the report is always written.
"""

from __future__ import annotations

import runpy
import signal
import sys
from pathlib import Path
from types import FrameType

from pyinstrument import Profiler


def _exit(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    report, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    signal.signal(signal.SIGTERM, _exit)
    profiler = Profiler(interval=0.002, async_mode="disabled")
    profiler.start()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        profiler.stop()
        Path(report).write_text(
            profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
        )
        # The whole session too, to render again with other options (`pyinstrument --load`).
        if profiler.last_session is not None:
            profiler.last_session.save(str(Path(report).with_suffix(".pyisession")))


if __name__ == "__main__":
    main()
