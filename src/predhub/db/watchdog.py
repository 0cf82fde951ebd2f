"""Stops an embedded PostgreSQL once the process that started it is gone.

Run as `python -m predhub.db.watchdog ROOT PID` with the owner holding the
write end of this process's stdin. Reading returns end of file only when every
writer has exited, so a SIGKILLed owner is noticed as surely as a clean exit;
the server is then stopped unless it is already down or is another one.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from predhub.db.embedded import stop_orphaned_server


def main(argv: list[str]) -> int:
    root, pid = Path(argv[0]), int(argv[1])
    # The owner handles Ctrl-C and stops the server itself; the watchdog waits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    stop_orphaned_server(root, pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
