"""Load generators for the HTTP benchmarks: wrk for steady load, asyncio for bursts.

wrk (Debian's package, written in C) drives the steady-state runs: it costs the 2-core
machine far less CPU than any Python client, so more of it is left to the server. The
burst — every delegate pressing "vote" at the same moment — is a fixed set of requests
fired at once, which wrk cannot express; a small asyncio client sends those, one
connection per request (gunicorn's sync workers close every connection anyway).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_ballots.lua"


@dataclass
class Run:
    """What one load run measured. Latencies in seconds."""

    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    p50: float = 0.0
    p99: float = 0.0
    errors: int = 0  # non-2xx answers and socket errors

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _seconds(value: str, unit: str) -> float:
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    threads: int = 2,
    headers: dict[str, str] | None = None,
    targets: Path | None = None,
) -> Run:
    """Run wrk against ``url`` (or, with ``targets``, PUT ballots from that file)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if targets is not None:
        command += ["-s", str(WRK_SCRIPT), url, "--", str(targets)]
    else:
        command.append(url)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))
    took = re.search(r"\d+ requests in ([\d.]+)(\w+)", out)
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.MULTILINE))

    def pct(key: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", percentiles[key]).groups()
        return _seconds(number, unit)

    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        # A sync worker closes each connection after answering; wrk counts some of those
        # closes as read errors although the answer arrived — only connect/timeout count.
        errors += int(match.group(1)) + int(match.group(4))
    return Run(
        requests=total,
        seconds=_seconds(*took.groups()),
        p50=pct("50"),
        p99=pct("99"),
        errors=errors,
    )


async def _one(
    host: str, port: int, raw: bytes, start: float, gate: asyncio.Semaphore
) -> tuple[float, int]:
    async with gate:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(raw)
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()  # the rest, until the server closes the connection
        finally:
            writer.close()
    status = int(status_line.split()[1]) if status_line else 0
    return time.perf_counter() - start, status


def burst(host: str, port: int, requests: list[bytes], *, connections: int) -> Run:
    """Fire every request at once; latency counts from the common start, so time spent
    waiting for a free connection is part of what a delegate sees."""

    async def main() -> tuple[float, list[tuple[float, int]]]:
        gate = asyncio.Semaphore(connections)
        start = time.perf_counter()
        results = await asyncio.gather(
            *(_one(host, port, raw, start, gate) for raw in requests), return_exceptions=True
        )
        return time.perf_counter() - start, results

    took, results = asyncio.run(main())
    latencies = sorted(r[0] for r in results if isinstance(r, tuple) and r[1] == 200)
    errors = len(results) - len(latencies)
    run = Run(requests=len(requests), seconds=took, latencies=latencies, errors=errors)
    if latencies:
        run.p50 = latencies[len(latencies) // 2]
        run.p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return run


def put_request(host: str, port: int, path: str, token: str, body: bytes) -> bytes:
    return (
        f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
