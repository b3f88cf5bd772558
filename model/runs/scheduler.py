"""Connecting to an existing Dask scheduler: a checked address, a bounded wait, one line.

:func:`connect` is what :class:`model.runs.execution.Executor` does with
``scheduler="tcp://HOST:PORT"``. Every way it can go wrong ends, within
:func:`connect_timeout` seconds (``EMIGSIM_CONNECT_TIMEOUT``, default
:data:`DEFAULT_TIMEOUT`), in a :class:`SchedulerError` that says in one line what was
tried and what is allowed:

- an address that is not ``tcp://HOST:PORT`` (``tls://`` needs certificates, which
  emigsim has no option to pass; ``inproc://`` exists only inside one process), refused
  before any connection;
- a host that is not found, a port where nothing listens (retried until the bound, so a
  scheduler that is still starting is found), no answer at all;
- something that accepts connections but is not a Dask scheduler (Dask's own handshake
  waits for ever for a reply that never comes: here it is given the bound);
- a scheduler without workers (waited for up to the bound).

Only tcp:// is supported. The cluster must be trusted: Dask sends pickled functions and
data, so whoever controls the scheduler or a worker can run code in this process.

Examples
--------
>>> check_address("tcp://10.0.0.5:8786")
('10.0.0.5', 8786)
>>> check_address("inproc://x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
model.runs.scheduler.SchedulerError: scheduler 'inproc://x': inproc:// addresses ...
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
import threading
import time
from urllib.parse import urlsplit

__all__ = ["SchedulerError", "check_address", "connect", "connect_timeout", "ENV_VAR",
           "DEFAULT_TIMEOUT", "ALLOWED"]

ENV_VAR = "EMIGSIM_CONNECT_TIMEOUT"
"""Environment variable: seconds to wait for a scheduler (and its first worker)."""
DEFAULT_TIMEOUT = 10.0
"""Default bound, in seconds, on connecting to a scheduler."""
ALLOWED = "tcp://HOST:PORT of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"
"""What a scheduler address may be (the end of every error's line)."""


class SchedulerError(ValueError):
    """The scheduler address is unsupported, or nothing usable answered there.

    Attributes
    ----------
    address : str
        The address as given.
    problem : str
        What went wrong (what was tried, for how long).
    allowed : str
        What would be accepted.
    key : str
        What the bad value is: ``"scheduler"``, or :data:`ENV_VAR` for a bad bound.

    Examples
    --------
    >>> str(SchedulerError("tcp://h:1", "connection refused", "a scheduler"))
    "scheduler 'tcp://h:1': connection refused; allowed: a scheduler"
    """

    def __init__(self, address: str, problem: str, allowed: str = ALLOWED,
                 key: str = "scheduler"):
        self.address, self.problem, self.allowed, self.key = address, problem, allowed, key
        what = f"scheduler {address!r}" if key == "scheduler" else f"{key}"
        super().__init__(f"{what}: {problem}; allowed: {allowed}")


def check_address(address: str) -> tuple[str, int]:
    """The host and port of a ``tcp://HOST:PORT`` address, else :class:`SchedulerError`.

    Examples
    --------
    >>> check_address("tcp://[::1]:8786")
    ('::1', 8786)
    >>> check_address("tls://10.0.0.5:8786")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.runs.scheduler.SchedulerError: scheduler 'tls://10.0.0.5:8786': tls:// needs ...
    """
    scheme, sep, rest = address.partition("://")
    if not sep or not rest:
        raise SchedulerError(address, "is not a scheduler address")
    if scheme == "inproc":
        raise SchedulerError(address, "inproc:// addresses exist only inside one process")
    if scheme in ("tls", "wss"):
        raise SchedulerError(address, f"{scheme}:// needs TLS certificates, which emigsim "
                             "has no option to pass", "tcp://HOST:PORT of a running Dask "
                             "scheduler (through an SSH tunnel for one that needs TLS)")
    if scheme != "tcp":
        raise SchedulerError(address, f"the {scheme}:// protocol is not supported")
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise SchedulerError(address, "has a port that is not a number from 1 to 65535") \
            from None
    if not host:
        raise SchedulerError(address, "names no host")
    if port is None or port == 0:
        raise SchedulerError(address, "names no port (Dask's default is 8786)")
    return host, port


def connect_timeout() -> float:
    """Seconds to wait for a scheduler: ``EMIGSIM_CONNECT_TIMEOUT``, else the default.

    Examples
    --------
    >>> connect_timeout() > 0
    True
    """
    text = os.environ.get(ENV_VAR)
    if text is None or not text.strip():
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise SchedulerError(text, f"= {text!r} is not a number of seconds > 0",
                             "seconds > 0, e.g. 10 (the default)", key=ENV_VAR)
    return value


def _reachable(address: str, host: str, port: int, deadline: float) -> None:
    """Open and close a plain TCP connection, retrying refusals until ``deadline``."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise SchedulerError(address, f"host {host!r} was not found") from None
    target = infos[0][4]
    family = infos[0][0]
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SchedulerError(address, "no answer to a TCP connection")
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(left)
        try:
            sock.connect(target)
            return
        except ConnectionRefusedError:
            if deadline - time.monotonic() < 0.25:
                raise SchedulerError(address, f"connection refused on {host} port {port}, "
                                     "so no scheduler listens there") from None
            time.sleep(0.2)  # a scheduler that is starting listens within moments
        except TimeoutError:
            raise SchedulerError(address, "no answer to a TCP connection") from None
        except OSError as exc:
            raise SchedulerError(address, f"cannot connect ({exc.strerror or exc})") from None
        finally:
            sock.close()


async def _identity(address: str, timeout: float) -> dict:
    from distributed.comm import connect as dask_connect

    comm = await dask_connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def _probe(address: str, host: str, port: int, deadline: float) -> dict:
    """TCP reachability, then Dask's handshake and the listener's identity, bounded."""
    _reachable(address, host, port, deadline)
    left = max(0.1, deadline - time.monotonic())
    try:
        reply = asyncio.run(asyncio.wait_for(_identity(address, left), left))
    except (TimeoutError, asyncio.TimeoutError):
        raise SchedulerError(address, "something listens there but it is not a Dask "
                             "scheduler: no Dask handshake came back") from None
    except Exception as exc:  # noqa: BLE001 - whatever it said, it was not Dask
        raise SchedulerError(address, "something listens there but it is not a Dask "
                             f"scheduler: its answer was not Dask's ({type(exc).__name__})") \
            from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else None
        raise SchedulerError(address, f"it is a Dask {kind}, not a scheduler" if kind
                             else "something listens there but it is not a Dask scheduler")
    return reply


def connect(address: str, timeout: float | None = None):
    """A :class:`dask.distributed.Client` of the scheduler at ``address``, with a worker.

    Parameters
    ----------
    address : str
        ``tcp://HOST:PORT``.
    timeout : float, optional
        Bound on the whole attempt, in seconds (default :func:`connect_timeout`).

    Raises
    ------
    SchedulerError
        Within about ``timeout`` seconds, naming the address and what was tried.
    """
    host, port = check_address(address)
    timeout = connect_timeout() if timeout is None else float(timeout)
    tried = f"(tried for {timeout:g} s, {ENV_VAR} sets how long)"
    deadline = time.monotonic() + timeout
    outcome: dict = {}

    def probe() -> None:
        try:
            outcome["identity"] = _probe(address, host, port, deadline)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    # in a thread of its own: a name lookup or a handshake that never ends is abandoned
    # at the deadline instead of holding the caller
    thread = threading.Thread(target=probe, name="emigsim-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    if "error" in outcome:
        exc = outcome["error"]
        if isinstance(exc, SchedulerError):
            raise SchedulerError(address, f"{exc.problem} {tried}", exc.allowed) from None
        raise SchedulerError(address, f"the connection failed ({type(exc).__name__}: {exc}) "
                             f"{tried}") from None
    if "identity" not in outcome:
        raise SchedulerError(address, f"no answer {tried}")
    from dask.distributed import Client

    left = max(1.0, deadline - time.monotonic())
    try:
        client = Client(address, timeout=left)
    except Exception as exc:  # noqa: BLE001 - the probe passed, so say what the client said
        raise SchedulerError(address, f"the Dask client could not connect ({exc}) {tried}") \
            from None
    try:
        if not client.nthreads():
            client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
    except (TimeoutError, asyncio.TimeoutError):
        client.close()
        raise SchedulerError(address, f"the scheduler has no workers {tried}",
                             "a scheduler with workers (start them with 'dask worker "
                             f"{address}'), or a longer {ENV_VAR}") from None
    return client
