"""Group commit: one thread writes every observation, several to a transaction.

Uploads and capture threads hand their observations to `LedgerWriter` instead
of opening transactions of their own. The writer takes whatever has queued up
while the last transaction ran, writes the upload files, and stores the whole
group in one transaction, so under load the cost of a commit (and of reading
each bot once) is shared, and writers never queue on the database's lock.

A group that fails is retried one observation at a time, so one bad
observation fails alone; one whose idempotency key came with a different
request fails alone without failing its group (the ledger leaves it out).
An observation is acknowledged (its future resolved) only after its
transaction commits; its file is on disk before that, and is removed again if
its rows could not be stored.

Under load a group waits a moment (`GATHER_SECONDS`) for uploads that are
already arriving: a route says so with `arrival()` as it starts reading a
request, and the writer waits, at most that long, until each such request has
been submitted or has failed, so that they share the transaction instead of
each paying for one. With nothing arriving it does not wait at all.

The queue is bounded in observations and in upload bytes: when the database
stalls, `submit` refuses at once (`WriterFull`) instead of holding every
upload in memory until the process dies. `close` is bounded too: what is
still queued at its deadline fails (it was never acknowledged) rather than
keeping the process from exiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from trade_analysis.storage import FileStore
from trade_analysis.trading.ledger import (
    IdempotencyKeyReused,
    Ledger,
    ObservationInput,
    StoredObservation,
    Writes,
)

logger = logging.getLogger(__name__)

# Enough to share a commit among every request a busy server has in flight, small enough
# that one transaction never holds the database's write lock for long.
MAX_GROUP = 64
MAX_JOBS = 256
MAX_BYTES = 64 * 1024 * 1024
# How long a group waits for uploads already being read: a fraction of a commit's cost
# in latency, for a transaction shared by every request in flight.
GATHER_SECONDS = 0.002


class WriterClosed(RuntimeError):
    """The writer is not running (the service is starting or shutting down)."""


class WriterFull(RuntimeError):
    """Too much is waiting to be stored (the database is slow or stalled): try again later."""


@dataclass(frozen=True)
class PendingUpload:
    """An upload's bytes, to be written under `name` before its rows are stored."""

    name: str
    data: bytes


class Arrival:
    """An upload being read, that the writer may wait for (see `LedgerWriter.arrival`)."""

    __slots__ = ("_writer", "done")

    def __init__(self, writer: LedgerWriter) -> None:
        self._writer = writer
        self.done = False

    def __enter__(self) -> Arrival:
        return self

    def __exit__(self, *_: object) -> None:
        self._writer._arrived(self)


@dataclass
class _Job:
    observation: ObservationInput
    as_history: bool
    upload: PendingUpload | None
    future: Future[StoredObservation] = field(default_factory=Future)

    @property
    def size(self) -> int:
        return len(self.upload.data) if self.upload is not None else 0


class LedgerWriter:
    """The one thread that writes observations; `submit` from anywhere, `start` and `close` once."""

    def __init__(
        self,
        ledger: Ledger,
        uploads: FileStore,
        max_group: int = MAX_GROUP,
        *,
        max_jobs: int = MAX_JOBS,
        max_bytes: int = MAX_BYTES,
        gather_seconds: float = GATHER_SECONDS,
    ) -> None:
        self._ledger = ledger
        self._uploads = uploads
        self._max_group = max_group
        self._max_jobs = max_jobs
        self._max_bytes = max_bytes
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Submitted and not yet done with (queued or in the transaction running now).
        self._held_jobs = 0
        self._held_bytes = 0
        self._give_up_at: float | None = None
        self._gather_seconds = gather_seconds
        # Requests being read that will submit (or fail) shortly: a group waits for them.
        self._arriving = 0

    @property
    def depth(self) -> tuple[int, int]:
        """Observations and upload bytes waiting to be stored."""
        with self._lock:
            return self._held_jobs, self._held_bytes

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
                self._thread.start()

    def close(self, timeout: float | None = None) -> bool:
        """Store everything already submitted, then stop; False if that took over `timeout`.

        Whatever has not been stored `timeout` seconds from now fails with
        `WriterClosed` (its sender was never told it was stored); a transaction
        already running is left to the database's own timeouts.
        """
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return True
            if timeout is not None:
                self._give_up_at = time.monotonic() + timeout
            self._queue.put(None)
        thread.join(timeout)
        if thread.is_alive():
            logger.error("the ledger writer did not stop within %.1f s", timeout)
            return False
        return True

    @property
    def queue_depth(self) -> int:
        """Jobs waiting for the writer (approximate: other threads add and take)."""
        return self._queue.qsize()

    def submit(
        self,
        observation: ObservationInput,
        *,
        as_history: bool,
        upload: PendingUpload | None = None,
        arrival: Arrival | None = None,
    ) -> Future[StoredObservation]:
        """Queue an observation (and the file it points at); the future resolves once stored.

        `arrival`: the one this upload announced, now over (the writer stops waiting
        for it in the same step as the job is queued)."""
        if upload is not None:
            observation = replace(observation, image_path=f"uploads/{upload.name}")
        job = _Job(observation, as_history, upload)
        with self._lock:
            if self._thread is None:
                raise WriterClosed("the ledger writer is not running")
            # An upload alone always fits, however big: the limit bounds what waits behind it.
            over_bytes = (
                job.size > 0
                and self._held_jobs > 0
                and self._held_bytes + job.size > self._max_bytes
            )
            if self._held_jobs >= self._max_jobs or over_bytes:
                raise WriterFull(
                    f"{self._held_jobs} observations ({self._held_bytes} bytes) are waiting "
                    "for the database; try again shortly"
                )
            self._held_jobs += 1
            self._held_bytes += job.size
            self._queue.put(job)
            if arrival is not None:
                self._stop_waiting_for(arrival)
        return job.future

    def arrival(self) -> Arrival:
        """Say an upload is being read: `with writer.arrival() as arrival:`, then
        `submit(..., arrival=arrival)`. The writer waits for it (briefly) before it
        commits, so that requests in flight share a transaction."""
        arrival = Arrival(self)
        with self._lock:
            self._arriving += 1
        return arrival

    def _arrived(self, arrival: Arrival) -> None:
        """Submitted or failed: not to be waited for any longer."""
        with self._lock:
            self._stop_waiting_for(arrival)

    def _stop_waiting_for(self, arrival: Arrival) -> None:
        """Stop waiting for `arrival`, once; the caller holds the lock."""
        if not arrival.done:
            arrival.done = True
            self._arriving -= 1

    def record_observation(
        self, observation: ObservationInput, *, as_history: bool
    ) -> StoredObservation:
        """Store and wait: for capture threads, which go on only once their frame is stored."""
        return self.submit(observation, as_history=as_history).result()

    # -- the writer thread ---------------------------------------------------------

    def _run(self) -> None:
        writes = self._ledger.writes()
        try:
            self._write_until_closed(writes)
        finally:
            writes.close()

    def _write_until_closed(self, writes: Writes) -> None:
        while True:
            first = self._queue.get()
            taken, stopping = self._gather(first)
            # From here on a job can no longer be cancelled: it will be stored. One
            # cancelled before (its request went away) is dropped, file and all.
            group = [job for job in taken if job.future.set_running_or_notify_cancel()]
            try:
                if self._past_deadline():
                    self._fail_unresolved(group, WriterClosed("shut down before it was stored"))
                else:
                    self._store(writes, group)
            except Exception as error:  # a bug here must not stop every later ingest
                logger.exception("the ledger writer failed a group of %d", len(group))
                self._fail_unresolved(group, error)
            except BaseException as error:
                self._fail_unresolved(group, error)
                raise
            finally:
                self._release(taken)
            if stopping:
                return

    def _past_deadline(self) -> bool:
        give_up_at = self._give_up_at
        return give_up_at is not None and time.monotonic() >= give_up_at

    def _release(self, jobs: list[_Job]) -> None:
        with self._lock:
            self._held_jobs -= len(jobs)
            self._held_bytes -= sum(job.size for job in jobs)

    @staticmethod
    def _fail_unresolved(group: list[_Job], error: BaseException) -> None:
        for job in group:
            if not job.future.done():
                job.future.set_exception(error)

    def _gather(self, first: _Job | None) -> tuple[list[_Job], bool]:
        """The first job and whatever else is waiting, up to a group's size; then, while
        uploads are still arriving, what they submit within `GATHER_SECONDS`."""
        group: list[_Job] = []
        job = first
        wait_until: float | None = None
        while True:
            if job is None:
                return group, True
            group.append(job)
            if len(group) >= self._max_group:
                return group, False
            try:
                job = self._queue.get_nowait()
                continue
            except queue.Empty:
                pass
            if not self._arriving:  # read without the lock: a stale answer costs a wait
                return group, False
            now = time.monotonic()
            if wait_until is None:
                wait_until = now + self._gather_seconds
            if now >= wait_until:
                return group, False
            try:
                job = self._queue.get(timeout=wait_until - now)
            except queue.Empty:
                return group, False

    def _store(self, writes: Writes, group: list[_Job]) -> None:
        written = [job for job in group if self._write_file(job)]
        if not written:
            return
        try:
            results = self._ledger.record_observations(
                [(job.observation, job.as_history) for job in written], writes=writes
            )
        except Exception as error:
            if len(written) == 1:
                self._fail(written[0], error)
                return
            logger.warning("a group of %d failed; storing them one at a time", len(written))
            for job in written:
                self._store_alone(writes, job)
            return
        for job, stored in zip(written, results, strict=True):
            self._answer(job, stored)

    def _store_alone(self, writes: Writes, job: _Job) -> None:
        try:
            (stored,) = self._ledger.record_observations(
                [(job.observation, job.as_history)], writes=writes
            )
        except Exception as error:
            self._fail(job, error)
        else:
            self._answer(job, stored)

    def _answer(self, job: _Job, stored: StoredObservation | IdempotencyKeyReused) -> None:
        if isinstance(stored, IdempotencyKeyReused):  # left out of its group, which went on
            self._fail(job, stored)
            return
        if stored.replayed:  # a retry of a stored upload: the first one's file is the one kept
            self._discard_file(job)
        job.future.set_result(stored)

    def _write_file(self, job: _Job) -> bool:
        if job.upload is None:
            return True
        try:
            self._uploads.write_atomic(job.upload.name, job.upload.data)
        except Exception as error:
            job.future.set_exception(error)
            return False
        return True

    def _fail(self, job: _Job, error: Exception) -> None:
        self._discard_file(job)
        job.future.set_exception(error)

    def _discard_file(self, job: _Job) -> None:
        if job.upload is not None:
            try:
                self._uploads.delete(job.upload.name)
            except OSError:  # retention's orphan sweep takes it later
                logger.exception("could not remove %s, which no row points at", job.upload.name)
