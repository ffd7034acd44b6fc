"""Jobs at fleet scale: a 100,000-thing snapshot job, the rollout engine's tick against history, and the
server's memory while it creates the job.

One command: ``.venv/bin/python bench/bench_jobs.py`` (or ``make bench-jobs``). Three parts:

* **snapshot** -- a SNAPSHOT job over a thing group of ``--things`` members, no rollout limit: the time
  from the CreateJob call until every execution exists and is QUEUED, measured three ways on fresh
  copies of the same data dir: ``service`` (``JobService.create_job`` in-process, with a breakdown by SQL
  statement), ``pipeline`` (a botocore-signed CreateJob handed to ``AwsPipeline.handle`` in-process) and
  ``http`` (a real ``otahub serve --virtual-clock`` subprocess, boto3 ``create_job``, then
  ``describe_job`` polled until ``numberOfQueuedThings`` is the fleet). The executions are counted in SQL
  and, for ``http``, by walking ``ListJobExecutionsForJob``. The fleet is bulk-loaded once (the group
  through the storage layer, things and memberships by multi-row INSERTs into the same tables), then the
  data dir is copied for each run.
* **memory** -- during the ``http`` runs, the server's RSS before CreateJob and its peak (VmHWM, reset
  through /proc/<pid>/clear_refs just before the call); in-process, the Python heap peak of
  ``create_job`` (tracemalloc), next to what ``--things`` per-thing Python objects would cost.
* **tick** -- ``RolloutEngine.tick()`` in-process on a FakeClock moved 60 s per tick, with ``--active``
  IN_PROGRESS executions (a 7-day in-progress timeout, so the timeout index is populated but none is
  due), ``--timeouts-per-tick`` more that time out on every tick, and ``--ramp-jobs`` jobs with pending
  things and a rate limit (so every tick dispatches), against each ``--history`` count of terminal
  (SUCCEEDED/FAILED) executions in COMPLETED jobs. The fixtures are ticked in interleaved rounds, and
  the bench checks every tick did its dispatches and timeouts; then a profiled pass times every SQL
  statement and COMMIT a tick runs and EXPLAIN QUERY PLANs each statement.

Output: tables on stdout; the full JSON goes to bench/results/jobs-<UTC timestamp>.json (gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from sqlalchemy import Engine, event, func, insert, select, update

from bench_scale import KEY, SECRET, request_builder
from otahub.app import App, build_app
from otahub.config import Settings
from otahub.domain.clock import FakeClock
from otahub.domain.executions import Execution, ExecutionStatus
from otahub.domain.ids import Arns, new_uuid
from otahub.domain.jobs import Job, JobConfig, JobStatus, RolloutConfig, Target
from otahub.domain.things import ThingGroup
from otahub.services.device_jobs import DeviceJobs
from otahub.services.jobs import JobRequest, JobService
from otahub.storage.sql.tables import job_executions, jobs, thing_group_members, thing_groups, things
from otahub.storage.sql.unit_of_work import SqlUnitOfWorkFactory
from servers import ACCESS_KEY_ID, BIN, REGION, RESULTS_DIR, SECRET_ACCESS_KEY, launch, process_cpu_seconds, stop

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
ARNS = Arns(REGION, ACCOUNT)
DOCUMENT = json.dumps({"operation": "ota", "files": [{"fileName": "fw.bin", "fileVersion": "1"}]})
LISTENING = re.compile(r"listening on (http://\S+)")
LIBRARIES = ("otahub", "boto3", "botocore", "SQLAlchemy", "uvicorn", "uvloop", "httptools")
THING_BATCH = 20_000
TICK_STEP = timedelta(seconds=60)  # one rollout minute per tick: every ramp job dispatches on every tick


def mib(n_bytes: float) -> float:
    return n_bytes / 2**20


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p90_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[8] * 1000 if len(samples) >= 2 else samples[0] * 1000


class NoObjects:
    """The object store JobService would read documentSource from; these jobs carry inline documents."""

    def head_object(self, *_: Any) -> Any:
        raise AssertionError("the benchmark jobs have inline documents")

    def read(self, *_: Any) -> Iterator[bytes]:
        raise AssertionError("the benchmark jobs have inline documents")


def open_app(data_dir: Path, clock: FakeClock | None = None, virtual: bool = False) -> App:
    settings = Settings(data_dir=data_dir, access_key_id=KEY, secret_access_key=SECRET, virtual_clock=virtual)
    return build_app(settings, clock=clock)


def job_service(app: App, clock: FakeClock) -> JobService:
    return JobService(SqlUnitOfWorkFactory(app.engine), NoObjects(), clock, ARNS)


def checkpoint(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# ---------------------------------------------------------------------------------------------
# Bulk loading
# ---------------------------------------------------------------------------------------------


def thing_name(n: int) -> str:
    return f"dev-{n:06d}"


def load_fleet(engine: Engine, count: int, groups: dict[str, range], now: datetime) -> None:
    """``count`` things (no attributes) and static groups, each holding the things numbered by its range.

    Groups go through the storage layer (it computes the path that recursive queries use); things and
    memberships are multi-row INSERTs into the same tables, THING_BATCH rows per transaction."""
    uow = SqlUnitOfWorkFactory(engine)
    with uow(write=True) as tx:
        for name in groups:
            tx.thing_groups.add(ThingGroup(name, new_uuid(), None, {}, 1, now))
    for start in range(0, count, THING_BATCH):
        rows = [{"name": thing_name(n), "thing_id": new_uuid(), "type_name": None, "attributes": {},
                 "billing_group": None, "version": 1, "created_at": now}
                for n in range(start, min(start + THING_BATCH, count))]
        with uow(write=True) as tx:
            tx.conn.execute(insert(things), rows)
    with uow(write=True) as tx:
        for name, span in groups.items():
            group_seq = select(thing_groups.c.seq).where(thing_groups.c.name == name).scalar_subquery()
            members = select(group_seq, things.c.seq).where(
                things.c.name >= thing_name(span.start), things.c.name <= thing_name(span.stop - 1))
            tx.conn.execute(insert(thing_group_members).from_select(["group_seq", "thing_seq"], members))


def count_queued(engine: Engine, job_id: str) -> dict[str, int]:
    """The job's latest executions by status, counted in SQL (not from the job row's counters)."""
    query = (select(job_executions.c.status, func.count())
             .join(jobs, jobs.c.seq == job_executions.c.job_seq)
             .where(jobs.c.job_id == job_id, job_executions.c.is_latest.is_(True))
             .group_by(job_executions.c.status))
    with engine.connect() as conn:
        return {status: int(n) for status, n in conn.execute(query)}


def count_queued_file(db: Path, job_id: str) -> dict[str, int]:
    """The same count through a read-only sqlite3 connection, while a server holds the database."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT e.status, count(*) FROM job_executions e JOIN jobs j ON j.seq = e.job_seq "
            "WHERE j.job_id = ? AND e.is_latest GROUP BY e.status", (job_id,)).fetchall()
    finally:
        conn.close()
    return {status: int(n) for status, n in rows}


# ---------------------------------------------------------------------------------------------
# SQL statement timing
# ---------------------------------------------------------------------------------------------


def statement_key(statement: str) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    return re.sub(r"\?(?:, \?)+", "?, ...", text)


class StatementTimer:
    """Times every statement an engine runs (cursor execute to its return), by normalised SQL text, and
    every COMMIT (the dialect's do_commit, split by whether the transaction wrote anything)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.params: dict[str, tuple[str, Any]] = {}
        self._started = 0.0
        self._changes: dict[int, int] = {}

    def _begin(self, conn: Any) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        self._changes[id(dbapi_connection)] = dbapi_connection.total_changes

    def _before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        key = statement_key(statement)
        self.samples[key].append(time.perf_counter() - self._started)
        if not many:
            self.params[key] = (statement, params)

    @contextmanager
    def attached(self) -> Iterator[StatementTimer]:
        dialect = self.engine.dialect
        original = dialect.do_commit

        def do_commit(connection: Any) -> None:  # the pool's proxy of the sqlite3 connection
            dbapi_connection = getattr(connection, "dbapi_connection", connection)
            before = self._changes.get(id(dbapi_connection), 0)
            started = time.perf_counter()
            original(connection)
            elapsed = time.perf_counter() - started
            changes = dbapi_connection.total_changes
            self._changes[id(dbapi_connection)] = changes
            self.samples["COMMIT (wrote)" if changes != before else "COMMIT (read only)"].append(elapsed)

        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        dialect.do_commit = do_commit  # type: ignore[method-assign]
        try:
            yield self
        finally:
            event.remove(self.engine, "begin", self._begin)
            event.remove(self.engine, "before_cursor_execute", self._before)
            event.remove(self.engine, "after_cursor_execute", self._after)
            del dialect.do_commit  # back to the class's method

    def statements_s(self) -> float:
        return sum(sum(v) for k, v in self.samples.items() if not k.startswith("COMMIT"))

    def commits_s(self) -> float:
        return sum(sum(v) for k, v in self.samples.items() if k.startswith("COMMIT"))

    def explain(self, key: str) -> list[str]:
        statement, params = self.params[key]
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            return [row[3] for row in cursor.fetchall()]
        finally:
            raw.close()


def short(key: str, width: int = 110) -> str:
    return key if len(key) <= width else key[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------
# (a) + (c): the snapshot job
# ---------------------------------------------------------------------------------------------


@dataclass
class SnapshotRun:
    mode: str  # service | pipeline | http
    run: int
    call_s: float  # the CreateJob call
    all_queued_s: float  # from the call until every execution is QUEUED (http: until describe_job says so)
    executions: dict[str, int]  # SQL count of the job's latest executions by status
    listed_queued: int | None = None  # http: QUEUED executions seen walking ListJobExecutionsForJob
    list_walk_s: float | None = None
    list_walk_server_cpu_s: float | None = None
    describe_polls: int | None = None
    server_cpu_s: float | None = None
    rss_before_mib: float | None = None
    peak_rss_mib: float | None = None
    rss_after_mib: float | None = None
    commit_s: float | None = None
    statements: list[dict[str, Any]] = field(default_factory=list)


def job_request(job_id: str, group: str) -> JobRequest:
    return JobRequest(job_id=job_id, targets=[ARNS.thing_group(group)], document=DOCUMENT,
                      target_selection="SNAPSHOT")


def run_service(template: Path, work: Path, run: int, expected: int) -> SnapshotRun:
    data_dir = fresh_copy(template, work, f"service-{run}")
    clock = FakeClock(datetime.now(UTC))
    app = open_app(data_dir, clock)
    try:
        service = job_service(app, clock)
        service.create_job(JobRequest("warm-up", [ARNS.thing(thing_name(0))], DOCUMENT))  # as in run_http
        timer = StatementTimer(app.engine)
        with timer.attached():
            started = time.perf_counter()
            job = service.create_job(job_request("snapshot", "fleet"))
            elapsed = time.perf_counter() - started
        assert job.status == JobStatus.IN_PROGRESS and job.notified == expected, job
        counted = count_queued(app.engine, "snapshot")
        commit_s = timer.commits_s()
        statements = sorted(({"sql": short(k, 160), "calls": len(v), "total_ms": sum(v) * 1000}
                             for k, v in timer.samples.items()), key=lambda s: -s["total_ms"])
        return SnapshotRun("service", run, elapsed, elapsed, counted, commit_s=commit_s, statements=statements)
    finally:
        app.engine.dispose()
        shutil.rmtree(data_dir)


def run_pipeline(template: Path, work: Path, run: int, expected: int) -> SnapshotRun:
    data_dir = fresh_copy(template, work, f"pipeline-{run}")
    app = open_app(data_dir, virtual=True)
    try:
        pipeline = app.asgi.pipeline
        build = request_builder("http://127.0.0.1:4680")
        warm_up = pipeline.handle(build("create_job", jobId="warm-up", targets=[ARNS.thing(thing_name(0))],
                                        document=DOCUMENT))
        assert warm_up.status == 200, warm_up.body[:300]
        request = build("create_job", jobId="snapshot", targets=[ARNS.thing_group("fleet")], document=DOCUMENT,
                        targetSelection="SNAPSHOT")
        started = time.perf_counter()
        response = pipeline.handle(request)
        elapsed = time.perf_counter() - started
        assert response.status == 200, response.body[:300]
        described = json.loads(pipeline.handle(build("describe_job", jobId="snapshot")).body)
        queued = described["job"]["jobProcessDetails"]["numberOfQueuedThings"]
        assert queued == expected, described
        return SnapshotRun("pipeline", run, elapsed, elapsed, count_queued(app.engine, "snapshot"))
    finally:
        app.engine.dispose()
        shutil.rmtree(data_dir)


def memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {name: int(value) for name, value in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE)}


def reset_peak_rss(pid: int) -> None:
    """VmHWM := the current RSS (Linux >= 4.0: write 5 to /proc/<pid>/clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def run_http(template: Path, work: Path, run: int, expected: int, timeout: float) -> SnapshotRun:
    data_dir = fresh_copy(template, work, f"http-{run}")
    command = [str(BIN / "otahub"), "serve", "--host", "127.0.0.1", "--port", "0", "--virtual-clock",
               "--data-dir", str(data_dir), "--access-key-id", ACCESS_KEY_ID, "--secret-access-key", SECRET_ACCESS_KEY]
    server = launch("otahub", command, work / f"http-{run}.log", LISTENING)
    try:
        client = boto3.client("iot", endpoint_url=server.endpoint, region_name=REGION,
                              aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                              config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=timeout))
        # Warm-up (not measured): the code paths of create/describe/list on a one-thing job.
        client.describe_thing_group(thingGroupName="fleet")
        client.create_job(jobId="warm-up", targets=[ARNS.thing(thing_name(0))], document=DOCUMENT)
        client.describe_job(jobId="warm-up")
        client.list_job_executions_for_job(jobId="warm-up", maxResults=10)
        time.sleep(0.2)
        rss_before = memory_kib(server.pid)["VmRSS"]
        reset_peak_rss(server.pid)
        cpu0 = process_cpu_seconds(server.pid)
        started = time.perf_counter()
        client.create_job(jobId="snapshot", targets=[ARNS.thing_group("fleet")], document=DOCUMENT,
                          targetSelection="SNAPSHOT")
        called = time.perf_counter() - started
        polls, deadline = 0, started + timeout
        while True:
            polls += 1
            details = client.describe_job(jobId="snapshot")["job"]["jobProcessDetails"]
            if details.get("numberOfQueuedThings") == expected:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"not all {expected} executions QUEUED after {timeout} s: {details}")
            time.sleep(0.01)
        all_queued = time.perf_counter() - started
        cpu = process_cpu_seconds(server.pid) - cpu0
        memory = memory_kib(server.pid)
        counted = count_queued_file(data_dir / "otahub.db", "snapshot")
        walk_cpu, walk_started, listed = process_cpu_seconds(server.pid), time.perf_counter(), 0
        for page in client.get_paginator("list_job_executions_for_job").paginate(
                jobId="snapshot", PaginationConfig={"PageSize": 250}):
            listed += sum(1 for e in page["executionSummaries"] if e["jobExecutionSummary"]["status"] == "QUEUED")
            if time.perf_counter() - walk_started > timeout:
                raise RuntimeError(f"ListJobExecutionsForJob walk took over {timeout} s ({listed} so far)")
        walk_s = time.perf_counter() - walk_started
        walk_cpu = process_cpu_seconds(server.pid) - walk_cpu
        return SnapshotRun("http", run, called, all_queued, counted, listed_queued=listed, list_walk_s=walk_s,
                           list_walk_server_cpu_s=walk_cpu,
                           describe_polls=polls, server_cpu_s=cpu, rss_before_mib=rss_before / 1024,
                           peak_rss_mib=memory["VmHWM"] / 1024, rss_after_mib=memory["VmRSS"] / 1024)
    finally:
        stop(server.process)
        shutil.rmtree(data_dir)


def fresh_copy(template: Path, work: Path, name: str) -> Path:
    target = work / name
    shutil.copytree(template, target)
    return target


def python_heap(template: Path, work: Path, expected: int) -> dict[str, float]:
    """The Python heap peak of an in-process create_job (tracemalloc; SQLite's own memory is not in it),
    and what per-thing Python objects for ``expected`` things would take, measured the same way."""
    data_dir = fresh_copy(template, work, "heap")
    clock = FakeClock(datetime.now(UTC))
    app = open_app(data_dir, clock)
    try:
        service = job_service(app, clock)
        service.create_job(JobRequest("warm-up", [ARNS.thing(thing_name(0))], DOCUMENT))
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        service.create_job(job_request("snapshot", "fleet"))
        create_peak = tracemalloc.get_traced_memory()[1] - base

        def cost(build: Callable[[], Any]) -> tuple[float, Any]:
            before = tracemalloc.get_traced_memory()[0]
            made = build()
            return tracemalloc.get_traced_memory()[0] - before, made

        names_b, names = cost(lambda: [thing_name(n) for n in range(expected)])
        now = clock.now()
        execs_b, _ = cost(lambda: [Execution("snapshot", name, 1, ExecutionStatus.QUEUED, now, now) for name in names])
        with app.engine.connect() as conn:
            query = select(job_executions).where(job_executions.c.job_seq == select(jobs.c.seq).where(
                jobs.c.job_id == "snapshot").scalar_subquery())
            rows_b, rows = cost(lambda: conn.execute(query).all())
            assert len(rows) == expected
            names_rows_b, _ = cost(lambda: conn.execute(select(job_executions.c.thing_name)).all())
        tracemalloc.stop()
        return {"create_job_peak_mib": mib(create_peak), "names_mib": mib(names_b),
                "executions_mib": mib(execs_b), "rows_all_columns_mib": mib(rows_b),
                "rows_name_only_mib": mib(names_rows_b)}
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        app.engine.dispose()
        shutil.rmtree(data_dir)


# ---------------------------------------------------------------------------------------------
# (b): the engine tick against history
# ---------------------------------------------------------------------------------------------


@dataclass
class TickFixture:
    history: int
    app: App
    clock: FakeClock
    ramp_jobs: list[str]
    setup_s: float
    ticks: list[float] = field(default_factory=list)
    ticks_cpu: list[float] = field(default_factory=list)  # the process's CPU time in the tick (no I/O waits)
    next_due: list[float] = field(default_factory=list)
    round_medians_ms: list[float] = field(default_factory=list)


def add_history(engine: Engine, history: int, per_job: int, fleet: int, now: datetime) -> None:
    """``history`` terminal executions (every tenth FAILED, the rest SUCCEEDED) in COMPLETED jobs of
    ``per_job`` things each; thing names cycle over the fleet, so each thing has history/fleet of them."""
    uow = SqlUnitOfWorkFactory(engine)
    target = (Target("thinggroup", "fleet", ARNS.thing_group("fleet")),)
    n_jobs = -(-history // per_job)
    for k in range(n_jobs):
        size = min(per_job, history - k * per_job)
        started = now - timedelta(days=n_jobs - k)
        finished = started + timedelta(hours=2)
        job = Job(job_id=f"done-{k:04d}", targets=target, target_selection="SNAPSHOT", document=DOCUMENT,
                  document_source=None, description=None, config=JobConfig(), status=JobStatus.COMPLETED,
                  created_at=started, updated_at=finished, completed_at=finished,
                  notified=size, bucket_start=started, bucket_count=size)
        rows = [{"thing_name": thing_name((k * per_job + i) % fleet), "execution_number": 1, "is_latest": True,
                 "status": "FAILED" if i % 10 == 0 else "SUCCEEDED", "status_details": {}, "queued_at": started,
                 "started_at": started + timedelta(minutes=5), "last_updated_at": finished, "version": 3,
                 "retry_attempt": 0, "retry_counts": {}, "force_canceled": False, "in_progress_deadline": None,
                 "step_deadline": None, "timeout_at": None} for i in range(size)]
        failed = sum(1 for r in rows if r["status"] == "FAILED")
        with uow(write=True) as tx:
            tx.jobs.add(job)
            seq = tx.conn.execute(select(jobs.c.seq).where(jobs.c.job_id == job.job_id)).scalar_one()
            tx.conn.execute(insert(job_executions), [r | {"job_seq": seq} for r in rows])
            tx.conn.execute(update(jobs).where(jobs.c.seq == seq).values(n_succeeded=size - failed, n_failed=failed))


def total_ticks(args: argparse.Namespace) -> int:
    """Every tick a fixture gets: warm-up, timed rounds, profiled pass."""
    return args.warmup_ticks + max(1, args.ticks // args.rounds) * args.rounds + args.profile_ticks


def build_tick_fixture(root: Path, history: int, args: argparse.Namespace) -> TickFixture:
    """History first (oldest rows), then the live jobs, through JobService as a control plane and devices
    would make them:

    * ``active``: --active executions started (IN_PROGRESS) with a 7-day in-progress timeout, none due;
    * ``expiring``: --timeouts-per-tick executions started a minute apart per tick to come, with an
      in-progress timeout that makes exactly that many fall due on every tick (TIMED_OUT, no retry);
    * ``ramp-<j>``: --ramp-pending things each at --ramp-rate per minute, so every tick dispatches."""
    started = time.perf_counter()
    clock = FakeClock(datetime(2026, 6, 1, tzinfo=UTC))
    app = open_app(root / f"tick-{history}", clock)
    steps = total_ticks(args)
    expiring = args.timeouts_per_tick * steps
    groups = {"fleet": range(args.fleet), "active": range(args.active),
              "expiring": range(args.active, args.active + expiring)}
    ramp_jobs = []
    for j in range(args.ramp_jobs):
        first = args.active + expiring + j * args.ramp_pending
        groups[f"ramp-{j}"] = range(first, first + args.ramp_pending)
        ramp_jobs.append(f"ramp-{j}")
    load_fleet(app.engine, args.fleet, groups, clock.now())
    add_history(app.engine, history, args.history_job_size, args.fleet, clock.now())
    service = job_service(app, clock)
    devices = DeviceJobs(SqlUnitOfWorkFactory(app.engine), clock)
    config = JobConfig(in_progress_timeout_minutes=10080)  # 7 days: none falls due during the ticks
    service.create_job(JobRequest("active", [ARNS.thing_group("active")], DOCUMENT, config=config))
    for n in range(args.active):
        assert devices.start_next(thing_name(n), None, None) is not None
    if expiring:
        # Group g starts at t0 + g min and times out at t0 + g + steps min; tick i runs at t0 + steps - 1 + i min.
        config = JobConfig(in_progress_timeout_minutes=steps)
        service.create_job(JobRequest("expiring", [ARNS.thing_group("expiring")], DOCUMENT, config=config))
        for g in range(steps):
            for n in range(args.timeouts_per_tick):
                assert devices.start_next(thing_name(args.active + g * args.timeouts_per_tick + n), None, None)
            if g < steps - 1:
                clock.advance(TICK_STEP)
    for name in ramp_jobs:
        rollout = JobConfig(rollout=RolloutConfig(maximum_per_minute=args.ramp_rate))
        service.create_job(JobRequest(name, [ARNS.thing_group(name)], DOCUMENT, config=rollout))
    checkpoint(app.engine)
    counted = count_status(app.engine)
    assert counted.get("IN_PROGRESS") == args.active + expiring, counted
    assert counted.get("SUCCEEDED", 0) + counted.get("FAILED", 0) == history, counted
    return TickFixture(history, app, clock, ramp_jobs, time.perf_counter() - started)


def count_status(engine: Engine) -> dict[str, int]:
    query = select(job_executions.c.status, func.count()).where(job_executions.c.is_latest.is_(True)).group_by(
        job_executions.c.status)
    with engine.connect() as conn:
        return {status: int(n) for status, n in conn.execute(query)}


def tick_once(fixture: TickFixture) -> tuple[float, float, float]:
    """One tick after moving the clock a rollout minute on: (wall s, CPU s, next_due() wall s)."""
    fixture.clock.advance(TICK_STEP)
    cpu, started = time.process_time(), time.perf_counter()
    fixture.app.rollout.tick()
    ticked, cpu = time.perf_counter(), time.process_time() - cpu
    fixture.app.rollout.next_due()
    return ticked - started, cpu, time.perf_counter() - ticked


def run_ticks(fixtures: list[TickFixture], args: argparse.Namespace) -> None:
    for fixture in fixtures:
        for _ in range(args.warmup_ticks):
            tick_once(fixture)
    per_round = max(1, args.ticks // args.rounds)
    for round_no in range(args.rounds):
        order = fixtures if round_no % 2 == 0 else fixtures[::-1]
        for fixture in order:
            samples = []
            for _ in range(per_round):
                tick_s, cpu_s, due_s = tick_once(fixture)
                samples.append(tick_s)
                fixture.ticks_cpu.append(cpu_s)
                fixture.next_due.append(due_s)
            fixture.ticks += samples
            fixture.round_medians_ms.append(median_ms(samples))


def profile_ticks(fixtures: list[TickFixture], ticks: int) -> dict[int, tuple[StatementTimer, list[float]]]:
    """Ticks with every statement and commit timed (the listeners cost a few us per statement)."""
    timers = {}
    for fixture in fixtures:
        timer, totals = StatementTimer(fixture.app.engine), []
        with timer.attached():
            for _ in range(ticks):
                fixture.clock.advance(TICK_STEP)
                started = time.perf_counter()
                fixture.app.rollout.tick()
                totals.append(time.perf_counter() - started)
        timers[fixture.history] = (timer, totals)
    return timers


def check_work(fixture: TickFixture, args: argparse.Namespace, ticks_run: int) -> dict[str, int]:
    """Every tick did its work: ramp_rate executions dispatched per ramp job, timeouts_per_tick timed out
    (a tick that skipped it would look cheaper)."""
    done = {}
    with fixture.app.engine.connect() as conn:
        for name in fixture.ramp_jobs:
            done[name] = int(conn.execute(select(jobs.c.notified).where(jobs.c.job_id == name)).scalar_one())
    done["timed_out"] = count_status(fixture.app.engine).get("TIMED_OUT", 0)
    want = {name: args.ramp_rate * (1 + ticks_run) for name in fixture.ramp_jobs}
    want["timed_out"] = args.timeouts_per_tick * ticks_run
    assert done == want, (done, want)
    return done


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    def git(*git_args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *git_args], capture_output=True, text=True, timeout=30,
                              check=False)
        return done.stdout.strip()

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "ram_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": {name: version(name) for name in LIBRARIES},
        "otahub_commit": git("rev-parse", "HEAD"),
        "otahub_subject": git("log", "-1", "--format=%s"),
        "uncommitted_in_src": git("status", "--porcelain", "--", "src").splitlines(),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


def snapshot_table(runs: list[SnapshotRun]) -> list[str]:
    lines = ["| path | runs | CreateJob call s (median) | until all QUEUED s (median, max) | executions QUEUED "
             "(SQL count) | QUEUED in ListJobExecutionsForJob | server CPU s (median) |",
             "|---|---|---|---|---|---|---|"]
    for mode in ("service", "pipeline", "http"):
        mine = [r for r in runs if r.mode == mode]
        if not mine:
            continue
        counted = "/".join(sorted({",".join(f"{n} {s}" for s, n in r.executions.items()) for r in mine}))
        listed = "/".join(str(n) for n in sorted({r.listed_queued for r in mine if r.listed_queued is not None}))
        cpu = [r.server_cpu_s for r in mine if r.server_cpu_s is not None]
        lines.append(
            f"| {mode} | {len(mine)} | {statistics.median(r.call_s for r in mine):.2f} | "
            f"{statistics.median(r.all_queued_s for r in mine):.2f}, {max(r.all_queued_s for r in mine):.2f} | "
            f"{counted} | {listed or '—'} | {f'{statistics.median(cpu):.2f}' if cpu else '—'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--things", type=int, default=100_000, help="members of the snapshot job's group")
    parser.add_argument("--runs", type=int, default=5, help="snapshot runs per path (service, pipeline, http)")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on any one wait, in seconds")
    parser.add_argument("--history", type=int, nargs="+", default=[10_000, 100_000],
                        help="terminal executions behind the ticked engine, one fixture each")
    parser.add_argument("--history-job-size", type=int, default=1_000, help="executions per finished job")
    parser.add_argument("--fleet", type=int, default=10_000, help="things in the tick fixtures")
    parser.add_argument("--active", type=int, default=1_000, help="IN_PROGRESS executions (with a timeout)")
    parser.add_argument("--timeouts-per-tick", type=int, default=2,
                        help="IN_PROGRESS executions of one more job that time out on each tick")
    parser.add_argument("--ramp-jobs", type=int, default=2, help="jobs with pending things and a rate limit")
    parser.add_argument("--ramp-rate", type=int, default=2, help="their maximumPerMinute")
    parser.add_argument("--ramp-pending", type=int, default=2_000, help="things each ramp job targets")
    parser.add_argument("--ticks", type=int, default=200, help="timed ticks per fixture")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds the ticks are split into")
    parser.add_argument("--warmup-ticks", type=int, default=5)
    parser.add_argument("--profile-ticks", type=int, default=50, help="ticks per fixture with statement timing")
    parser.add_argument("--skip", choices=("snapshot", "tick"), nargs="*", default=[])
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the temporary directory")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    bounds = {"things": (1, 1_000_000), "runs": (1, 20), "ticks": (2, 10_000), "rounds": (1, 100),
              "active": (1, 100_000), "ramp_jobs": (0, 100), "timeouts_per_tick": (0, 100),
              "profile_ticks": (1, 10_000), "timeout": (1, 3600)}
    for name, (low, high) in bounds.items():
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be {low} to {high}")
    if any(not 0 <= h <= 2_000_000 for h in args.history):
        parser.error("--history values must be 0 to 2,000,000")
    if args.active + args.timeouts_per_tick * total_ticks(args) + args.ramp_jobs * args.ramp_pending > args.fleet:
        parser.error("--fleet must hold --active + --timeouts-per-tick x ticks + --ramp-jobs x --ramp-pending things")
    if total_ticks(args) > 10080:
        parser.error("too many ticks: the expiring job's in-progress timeout (one minute per tick) is at most 7 days")
    if args.ramp_rate * (total_ticks(args) + 1) > args.ramp_pending:
        parser.error("--ramp-pending runs dry before the last tick; raise it or lower --ramp-rate")

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    report: dict[str, Any] = {"started": stamp, "args": {k: str(v) if isinstance(v, Path) else v
                                                         for k, v in vars(args).items()},
                              "machine": machine_info()}
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-jobs-", dir=args.workdir) as tmp:
        work = Path(tmp)
        if "snapshot" not in args.skip:
            report["snapshot"] = snapshot_part(work, args)
        if "tick" not in args.skip:
            report["tick"] = tick_part(work, args)
    report["machine"]["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    report["wall_s"] = time.perf_counter() - wall
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"jobs-{stamp}.json"
    out.write_text(json.dumps(report, indent=2, default=str))
    machine = report["machine"]
    print(f"\nmachine: nproc {machine['nproc']}, {machine['cpu_model']}, Python {machine['python']}, SQLite "
          f"{machine['sqlite']}, loadavg {' '.join(machine['loadavg'])} -> {' '.join(machine['loadavg_end'])}; "
          f"{report['wall_s']:.0f} s in all")
    print(f"results: {out}")


def snapshot_part(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    template = work / "template"
    started = time.perf_counter()
    app = open_app(template, FakeClock(datetime.now(UTC)))
    load_fleet(app.engine, args.things, {"fleet": range(args.things)}, datetime.now(UTC))
    checkpoint(app.engine)
    app.engine.dispose()
    load_s = time.perf_counter() - started
    db_mib = mib((template / "otahub.db").stat().st_size)
    print(f"loaded {args.things} things into one group in {load_s:.1f} s (database {db_mib:.0f} MiB)")
    runs: list[SnapshotRun] = []
    for run in range(args.runs):  # interleaved, so drift in the machine's load spreads over all three
        runs.append(run_service(template, work, run, args.things))
        runs.append(run_pipeline(template, work, run, args.things))
        runs.append(run_http(template, work, run, args.things, args.timeout))
        print("  " + ", ".join(f"{r.mode} {r.all_queued_s:.2f} s" for r in runs[-3:]))
    for r in runs:
        assert r.executions == {"QUEUED": args.things}, (r.mode, r.executions)
        assert r.listed_queued in (None, args.things), (r.mode, r.listed_queued)
    heap = python_heap(template, work, args.things)

    print()
    print("\n".join(snapshot_table(runs)))
    service_runs = [r for r in runs if r.mode == "service"]
    first = service_runs[0]
    sql_ms = sum(x["total_ms"] for x in first.statements if not x["sql"].startswith("COMMIT"))
    commit_ms = (first.commit_s or 0) * 1000
    calls = sum(x["calls"] for x in first.statements if not x["sql"].startswith("COMMIT"))
    print(f"\nservice create_job, run 0: {first.call_s * 1000:.0f} ms = {calls} SQL statements "
          f"{sql_ms:.0f} ms + COMMIT {commit_ms:.0f} ms + Python {first.call_s * 1000 - sql_ms - commit_ms:.0f} ms; "
          f"the largest:")
    for x in first.statements[:5]:
        print(f"  {x['total_ms']:8.1f} ms  x{x['calls']}  {x['sql'][:100]}")
    http = [r for r in runs if r.mode == "http"]
    print("\nserver memory (http runs): RSS before CreateJob / peak during / RSS after, MiB: " + "; ".join(
        f"{r.rss_before_mib:.1f} / {r.peak_rss_mib:.1f} / {r.rss_after_mib:.1f}" for r in http))
    growth = [(r.peak_rss_mib or 0) - (r.rss_before_mib or 0) for r in http]
    print(f"  peak growth {', '.join(f'{g:.1f}' for g in growth)} MiB; ListJobExecutionsForJob walk "
          f"{statistics.median(r.list_walk_s or 0 for r in http):.1f} s (250 per page; server CPU "
          f"{statistics.median(r.list_walk_server_cpu_s or 0 for r in http):.1f} s)")
    print(f"  in-process Python heap peak of create_job: {heap['create_job_peak_mib']:.2f} MiB (tracemalloc)")
    print(f"  for comparison, {args.things} per-thing Python objects: names alone {heap['names_mib']:.1f} MiB, "
          f"domain Executions {heap['executions_mib']:.1f} MiB (+ names), SQLAlchemy rows of job_executions "
          f"{heap['rows_all_columns_mib']:.1f} MiB, one-column rows {heap['rows_name_only_mib']:.1f} MiB")
    return {"load_s": load_s, "db_mib": db_mib, "runs": [asdict(r) for r in runs], "python_heap": heap,
            "rss_growth_mib": growth}


def tick_part(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    fixtures = []
    for history in args.history:
        fixture = build_tick_fixture(work, history, args)
        fixtures.append(fixture)
        print(f"tick fixture: {history} terminal executions, {args.active} IN_PROGRESS + "
              f"{args.timeouts_per_tick} timing out per tick, {args.ramp_jobs} ramp jobs at {args.ramp_rate}/min, "
              f"built in {fixture.setup_s:.1f} s")
    try:
        run_ticks(fixtures, args)
        timed = args.warmup_ticks + max(1, args.ticks // args.rounds) * args.rounds
        work_done = {f.history: check_work(f, args, timed) for f in fixtures}
        timers = profile_ticks(fixtures, args.profile_ticks)
        for f in fixtures:
            check_work(f, args, timed + args.profile_ticks)
        finals = {f.history: count_status(f.app.engine) for f in fixtures}
        result: dict[str, Any] = {"fixtures": [], "work_done": work_done, "final_counts": finals}
        print("\n| terminal executions | ticks | tick median ms | tick p90 ms | tick CPU median / p90 ms | "
              "per-round medians ms | next_due median ms |\n|---|---|---|---|---|---|---|")
        for f in fixtures:
            print(f"| {f.history} | {len(f.ticks)} | {median_ms(f.ticks):.2f} | {p90_ms(f.ticks):.2f} | "
                  f"{median_ms(f.ticks_cpu):.2f} / {p90_ms(f.ticks_cpu):.2f} | "
                  f"{', '.join(f'{m:.2f}' for m in f.round_medians_ms)} | {median_ms(f.next_due):.2f} |")
            result["fixtures"].append({"history": f.history, "setup_s": f.setup_s, "ticks_s": f.ticks,
                                       "ticks_cpu_s": f.ticks_cpu, "next_due_s": f.next_due,
                                       "median_ms": median_ms(f.ticks), "p90_ms": p90_ms(f.ticks),
                                       "cpu_median_ms": median_ms(f.ticks_cpu), "cpu_p90_ms": p90_ms(f.ticks_cpu),
                                       "round_medians_ms": f.round_medians_ms,
                                       "next_due_median_ms": median_ms(f.next_due)})
        low, high = fixtures[0], fixtures[-1]
        if len(fixtures) > 1:
            def ratio(pick: Callable[[TickFixture], float]) -> str:
                return f"{pick(high) / pick(low):.2f}"

            print(f"ratio {high.history} / {low.history}: median {ratio(lambda f: median_ms(f.ticks))}, "
                  f"p90 {ratio(lambda f: p90_ms(f.ticks))}, CPU median {ratio(lambda f: median_ms(f.ticks_cpu))}, "
                  f"next_due median {ratio(lambda f: median_ms(f.next_due))}")
        result["profile"] = statement_report(timers, low.history, high.history, args.profile_ticks)
        return result
    finally:
        for f in fixtures:
            f.app.engine.dispose()


def statement_report(timers: dict[int, tuple[StatementTimer, list[float]]], low: int, high: int,
                     ticks: int) -> dict[str, Any]:
    """Per statement a tick runs: calls per tick, median time per call at each history, and its plan."""
    split = {}
    for history, (timer, totals) in timers.items():
        split[history] = {"tick_ms": sum(totals) / ticks * 1000, "statements_ms": timer.statements_s() / ticks * 1000,
                          "commits_ms": timer.commits_s() / ticks * 1000}
        split[history]["python_ms"] = split[history]["tick_ms"] - split[history]["statements_ms"] \
            - split[history]["commits_ms"]
    print(f"\nprofiled ticks ({ticks} per fixture), mean per tick: " + "; ".join(
        f"{h}: {v['tick_ms']:.2f} ms = SQL statements {v['statements_ms']:.2f} + COMMITs {v['commits_ms']:.2f} "
        f"+ Python {v['python_ms']:.2f}" for h, v in split.items()))
    low_timer, high_timer = timers[low][0], timers[high][0]
    keys = sorted(set(low_timer.samples) | set(high_timer.samples), key=lambda k: -sum(high_timer.samples.get(k, [0])))
    heads = f"{'calls/tick':>10} {'us ' + str(low):>10} {'us ' + str(high):>10} {'ratio':>6}"
    print(f"  {heads}  statement (median per call)")
    rows = []
    for key in keys:
        a, b = low_timer.samples.get(key, []), high_timer.samples.get(key, [])
        med_a = statistics.median(a) * 1e6 if a else None
        med_b = statistics.median(b) * 1e6 if b else None
        ratio = med_b / med_a if med_a and med_b else None
        plan = high_timer.explain(key) if key in high_timer.params and not key.startswith("BEGIN") else []
        rows.append({"sql": key, "calls_per_tick": len(b) / ticks, "median_us": {low: med_a, high: med_b},
                     "ratio": ratio, "plan": plan})
        print(f"  {len(b) / ticks:10.2f} {med_a or 0:10.1f} {med_b or 0:10.1f} {ratio or 0:6.2f}  {short(key, 100)}")
        for step in plan:
            print(f"  {'':>41}plan: {step}")
    return {"split_ms": split, "statements": rows}


if __name__ == "__main__":
    main()
