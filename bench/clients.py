"""Clients for a replica, shared by bench/proxy.py and the replica's tests: plain requests from a
chosen loopback address, latency samples, slow clients that trickle, and a storm of exports.

Every address in 127.0.0.0/8 is a separate client to the proxy, so one test can be many clients.
Every loop here is bounded in count and time and stops by itself. Every socket is closed with a
reset (SO_LINGER 0), not the usual goodbye: a closed connection would otherwise wait out
TIME_WAIT for a minute on 127.0.0.N:port, and while it does, no server can bind that port on
every address (SeaweedFS in the store tests checks exactly that).
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field
from email.message import Message

HOST = "127.0.0.1"
_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends a reset, leaves no TIME_WAIT


def close_with_reset(sock: socket.socket | None) -> None:
    """Close a socket at once, leaving no TIME_WAIT behind on its address and port."""
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        sock.close()


def get(
    port: int, path: str, source: str = HOST, headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    """(status, headers, body) of one GET from `source` to the proxy on 127.0.0.1:port."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        close_with_reset(connection.sock)
        connection.close()


def statuses(port: int, path: str, source: str, count: int, headers: dict | None = None) -> list:
    """Statuses of `count` GETs sent one after another on one keep-alive connection."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30, source_address=(source, 0))
    found = []
    try:
        for _ in range(count):
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            response.read()
            found.append(response.status)
    finally:
        close_with_reset(connection.sock)
        connection.close()
    return found


def latencies_ms(port: int, path: str, source: str, count: int, seconds: float) -> list[float]:
    """Milliseconds of up to `count` GETs (new connection each, as a new visitor) within
    `seconds`; a request that fails counts as the time it took to fail."""
    found: list[float] = []
    deadline = time.monotonic() + seconds
    while len(found) < count and time.monotonic() < deadline:
        started = time.perf_counter()
        with contextlib.suppress(OSError):
            get(port, path, source)
        found.append((time.perf_counter() - started) * 1000)
    return found


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` (0-1) of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# ---------------------------------------------------------------- slow clients
TRICKLED_HEADER = b"GET /api/v1/stats HTTP/1.1\r\nHost: kapiko\r\n"
TRICKLED_BODY = b"POST /api/v1/stats HTTP/1.1\r\nHost: kapiko\r\nContent-Length: 100000\r\n\r\n"


@dataclass
class SlowClients:
    """Sockets that trickle a header block or a body, one byte per `interval` each."""

    port: int
    count: int
    source: str
    interval: float = 0.5
    sockets: list[socket.socket] = field(default_factory=list)
    opened: float = 0.0
    closed_after_s: list[float] = field(default_factory=list)  # one per socket the server closed

    def open(self) -> None:
        """Connect every socket and send its unfinished start (half headers, half bodies)."""
        self.opened = time.monotonic()
        for n in range(self.count):
            sock = socket.create_connection(
                (HOST, self.port), timeout=10, source_address=(self.source, 0)
            )
            sock.sendall(TRICKLED_HEADER if n % 2 == 0 else TRICKLED_BODY)
            sock.setblocking(False)
            self.sockets.append(sock)

    def trickle_until_closed(self, seconds: float) -> None:
        """Send a byte on each open socket every interval until the server has closed them all
        or `seconds` have passed; record when each was closed."""
        selector = selectors.DefaultSelector()
        for sock in self.sockets:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + seconds
        next_byte = time.monotonic()
        while selector.get_map() and time.monotonic() < deadline:
            if time.monotonic() >= next_byte:
                for key in list(selector.get_map().values()):
                    _send_quietly(key.fileobj)  # type: ignore[arg-type]
                next_byte += self.interval
            for key, _ in selector.select(timeout=max(0.0, next_byte - time.monotonic())):
                if _closed_by_server(key.fileobj):  # type: ignore[arg-type]
                    selector.unregister(key.fileobj)
                    self.closed_after_s.append(time.monotonic() - self.opened)
        selector.close()

    def close(self) -> None:
        """Close whatever is still open on our side."""
        for sock in self.sockets:
            close_with_reset(sock)


def _send_quietly(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed by the server: the reader side records it
        sock.send(b"X")


def _closed_by_server(sock: socket.socket) -> bool:
    """Read what is there (a 413 answer, say); True once the server has closed or reset."""
    try:
        while chunk := sock.recv(65536):
            del chunk
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True


# ---------------------------------------------------------------- a storm of full exports
EXPORT_PATH = "/api/v1/tracks/export"
RETRY_AFTER_REFUSAL_S = 0.1  # impatient clients: a tenth of the Retry-After the proxy sends


def _stream_exports(port: int, source: str, seconds: float, results: multiprocessing.Queue) -> None:
    """One client: fetch whole exports one after another for `seconds`; report its counts."""
    counts = {"completed": 0, "refused": 0, "other": 0, "bytes": 0}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, _, body = get(port, EXPORT_PATH, source)
        except OSError:
            counts["other"] += 1
            continue
        if status == 200:
            counts["completed"] += 1
            counts["bytes"] += len(body)
        elif status in (429, 503):
            counts["refused"] += 1
            time.sleep(RETRY_AFTER_REFUSAL_S)
        else:
            counts["other"] += 1
    results.put(counts)


@dataclass
class ExportStorm:
    """`clients` processes (own addresses 127.0.1.N, own interpreters, so they do not share the
    measuring client's GIL) streaming full exports for `seconds`."""

    port: int
    clients: int = 8
    seconds: float = 5.0
    processes: list = field(default_factory=list)

    def start(self) -> None:
        """Start the clients."""
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        for n in range(self.clients):
            source = f"127.0.1.{n + 1}"
            args = (self.port, source, self.seconds, self.results)
            process = context.Process(target=_stream_exports, args=args, daemon=True)
            process.start()
            self.processes.append(process)

    def join(self) -> dict[str, int]:
        """Wait for every client to finish; their counts added up."""
        total = {"completed": 0, "refused": 0, "other": 0, "bytes": 0}
        for _ in self.processes:
            for key, value in self.results.get(timeout=self.seconds + 60).items():
                total[key] += value
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
        return total
