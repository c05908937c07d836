"""Servers worse than a faulty Azure: one that accepts connections and never says a word (not even TLS).

The collector must give up on them by ``--deadline``; the process must not
wait for its worker threads (tests/test_live_hostile.py).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class SilentServer:
    """Listens on 127.0.0.1, accepts every connection, reads nothing, writes nothing, closes nothing until stopped."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self.accepted = 0
        self.first_contact: float | None = None  # time.monotonic() of the first connection

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stopped.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)
            self.accepted += 1
            if self.first_contact is None:
                self.first_contact = time.monotonic()

    def __enter__(self) -> SilentServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stopped.set()
        for connection in self._held:
            connection.close()
        self._listener.close()
