"""When the terminal goes away (an SSH session that dropped).

SIGHUP's default would kill gpuwiz in the middle of a step — apt/dpkg then lose the reader of their
output and stop half-way. Instead a run in flight finishes the step it is on, records where it
stopped, and only then does gpuwiz end; with nothing running it ends at once. SIGHUP does not always
come (ignored, or sent to another process group): the terminal's ioctls failing with EIO tell too.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from typing import Callable

HUNG_UP_EXIT = 128 + signal.SIGHUP  # what a shell reports for a process SIGHUP ended


def terminal_gone(fds: tuple[int, ...] = (0, 1)) -> bool:
    """True once the terminal hung up: ioctls on it fail with EIO (so `isatty` says False too; a file
    or a pipe answers ENOTTY instead)."""
    import termios

    for fd in fds:
        try:
            termios.tcgetattr(fd)
        except termios.error as error:
            if error.args and error.args[0] == errno.EIO:
                return True
        except OSError as error:
            if error.errno == errno.EIO:
                return True
    return False


def leave_hung_up_terminal() -> None:
    """End the process with the status SIGHUP's default would give.

    Not through `App.exit`: Textual's writer thread dies on the first write that fails with EIO, and
    its shutdown then waits forever to queue more output for it (textual 8.2.8). Nothing is left to
    restore on a terminal that is gone; callers save what they hold first.
    """
    os._exit(HUNG_UP_EXIT)


class HangUpWatch:
    """Calls `on_hang_up` once, on a thread of its own, when the terminal goes away.

    The callback runs off the main thread on purpose: by then the main thread may be blocked on a
    write to the dead terminal. `start` must be called on the main thread (it sets the SIGHUP handler).
    """

    def __init__(self, on_hang_up: Callable[[], None], *, every_s: float = 0.5) -> None:
        self.on_hang_up = on_hang_up
        self.every_s = every_s
        self.hung_up = False
        self._signalled = threading.Event()
        self._stopped = threading.Event()
        self._previous: object = None

    def start(self) -> None:
        self._previous = signal.signal(signal.SIGHUP, lambda *_: self._signalled.set())
        threading.Thread(target=self._watch, name="gpuwiz-hangup", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._signalled.set()
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGHUP, self._previous)  # type: ignore[arg-type]
            self._previous = None

    def _watch(self) -> None:
        while not self._stopped.is_set():
            signalled = self._signalled.wait(self.every_s)
            if self._stopped.is_set():
                return
            if signalled or terminal_gone():
                self.hung_up = True
                self.on_hang_up()
                return


def sighup_ignored() -> bool:
    """Started under `nohup`: the user asked for the run to go on without its terminal."""
    return signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
