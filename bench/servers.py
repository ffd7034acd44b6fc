"""Server-process plumbing shared by the benchmark scripts (bench_things.py, bench_s3.py).

Starts a target server as a child process (no shell, so the pid is the server itself), waits for the
line that names its endpoint, checks the pid is the Python server, reads its CPU time from
/proc/<pid>/stat and stops it; plus the credentials, region, paths and clock rate the scripts share.
The scripts are run as ``python bench/<script>.py``, which puts bench/ on sys.path, so they import
this module as plain ``servers``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIABENCHMARK0000000"
SECRET_ACCESS_KEY = "bench-secret-access-key-0000000000000000"
CLK_TCK = os.sysconf("SC_CLK_TCK")
BIN = Path(sys.executable).parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    endpoint: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def launch(name: str, command: list[str], log: Path, ready: re.Pattern[str], timeout: float = 60.0,
           env: dict[str, str] | None = None) -> Server:
    """Start command (no shell, so the pid is the server itself) and wait for ready in its output.

    env: the child's whole environment (None: inherit this process's)."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = ready.search(log.read_text(errors="replace"))
        if match:
            server = Server(name, process, match.group(1), log)
            check_is_python_server(server)
            return server
        if process.poll() is not None:
            break
        time.sleep(0.05)
    stop(process)
    raise RuntimeError(f"{name} did not start ({' '.join(command)}):\n{log.read_text(errors='replace')}")


def check_is_python_server(server: Server) -> None:
    exe = os.readlink(f"/proc/{server.pid}/exe")
    if "python" not in Path(exe).name:
        raise RuntimeError(f"{server.name}: pid {server.pid} is {exe}, not the Python server process")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields[0] is field 3 (state); utime=14, stime=15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK
