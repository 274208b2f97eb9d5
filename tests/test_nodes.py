"""Past one machine: two web nodes behind HAProxy, one of them killed during a burst.

The deployment of docs/deploy.md ("Two or more web nodes") on loopback: a private
PostgreSQL and Redis (tests/private_servers.py), two gunicorn nodes, a Celery worker with
beat, and HAProxy running the shipped configuration (docs/deploy/haproxy.cfg) with TLS.
500 delegates cast their ballots at once through the load balancer; one node is killed
(master and workers, SIGKILL) in the middle. Clients retry what failed — a ballot PUT is
idempotent — and afterwards every unit has exactly the ballot it sent, the tally equals a
recount, the ledger verifies, and the worker sends the result.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .private_servers import (
    ROOT,
    PrivatePostgres,
    Site,
    free_port,
    manage,
    missing,
    private_postgres,
    private_redis,
    site_env,
)
from .test_faults import (
    DB,
    ledger_agrees_with_the_ballots,
    sent_emails,
    start_worker,
    stop_worker,
    wait_for,
)

HAPROXY = "/usr/sbin/haproxy"
CONFIG = ROOT / "docs" / "deploy" / "haproxy.cfg"
UNITS = 500
WORKERS_PER_NODE = 2
CHOICES = ("yes", "no", "abstain")
KILL_AFTER = 150  # acknowledged ballots before node 1 dies: well inside the burst
ATTEMPTS = 6  # per ballot, the first included
BURST_SECONDS = 40


# --- The data set, built inside a site process on the private database ----------------


def api_token(user: Any) -> str:
    """The one place this test issues an API token (for the secretary; the delegates'
    come with bench/fixtures.py's bulk council)."""
    from members.services import issue_token

    _token, key = issue_token(user=user)
    return key


def build_council() -> None:
    """Run by ``manage.py shell``: a council of UNITS units, every one checked in, one
    delegate with an email and a token each, and a vote open; prints what the clients
    need as JSON."""
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from bench.fixtures import council_of
    from proposals import services

    bench = council_of("Nodes", UNITS)
    bench.secretary.email = "secretary@example.org"
    bench.secretary.save(update_fields=["email"])
    type(bench.secretary).objects.filter(pk__in=[d.pk for d in bench.delegates]).update(
        email=Concat(F("username"), Value("@example.org"))
    )
    proposal = services.create_proposal(
        actor=bench.secretary, meeting=bench.meeting, title="Two nodes"
    )
    services.open_vote(actor=bench.secretary, proposal=proposal)
    print(
        json.dumps(
            {
                "proposal": proposal.pk,
                "secretary": api_token(bench.secretary),
                "units": [u.pk for u in bench.units],
                "tokens": bench.tokens,
            }
        )
    )


# --- HAProxy --------------------------------------------------------------------------


def tls_certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, with its key, in HAProxy's one-file form."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("needs openssl to make the load balancer's certificate")
    key, cert, pem = folder / "key.pem", folder / "cert.pem", folder / "site.pem"
    subprocess.run(  # noqa: S603
        [
            openssl or "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    pem.write_text(cert.read_text() + key.read_text())
    return pem


class LoadBalancer:
    """HAProxy running docs/deploy/haproxy.cfg as shipped; only the addresses differ."""

    def __init__(self, nodes: list[Site], pem: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "QUORUM_BIND": f"127.0.0.1:{self.port}",
            "QUORUM_TLS_PEM": str(pem),
            "QUORUM_HOST": "127.0.0.1",
            "QUORUM_WEB1": f"127.0.0.1:{nodes[0].port}",
            "QUORUM_WEB2": f"127.0.0.1:{nodes[1].port}",
            "WEB_CONCURRENCY": str(WORKERS_PER_NODE),
        }
        self.log = log
        self._log = log.open("w")
        # -db: in the foreground, logging to stdout (the file's "log stdout").
        self.process = subprocess.Popen(  # noqa: S603
            [HAPROXY, "-db", "-f", str(CONFIG)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


# --- The clients ----------------------------------------------------------------------


@dataclass
class Outcome:
    """What one unit's client saw."""

    statuses: list[int | str] = field(default_factory=list)  # per attempt; str: an error

    @property
    def acknowledged(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 200

    @property
    def failed_attempts(self) -> int:
        return sum(1 for s in self.statuses if s != 200)


async def burst(
    base: str, cert: Path, proposal: int, ballots: list[tuple[int, str, str]], on_ack: Any
) -> dict[int, Outcome]:
    """PUT every (unit, token, choice) at once (32 in flight), each retried on a lost
    connection or a 502/503/504, at most ATTEMPTS times; ``on_ack(n)`` after each 200."""
    import httpx

    outcomes = {unit: Outcome() for unit, _, _ in ballots}
    acknowledged = 0
    gate = asyncio.Semaphore(32)
    tls = ssl.create_default_context(cafile=str(cert))

    async def cast(client: httpx.AsyncClient, unit: int, token: str, choice: str) -> None:
        nonlocal acknowledged
        outcome = outcomes[unit]
        async with gate:
            for attempt in range(ATTEMPTS):
                try:
                    response = await client.put(
                        f"{base}/api/v1/proposals/{proposal}/ballots/{unit}/",
                        json={"choice": choice},
                        headers={"Authorization": f"Token {token}"},
                    )
                except httpx.TransportError as error:
                    outcome.statuses.append(type(error).__name__)
                else:
                    outcome.statuses.append(response.status_code)
                    if response.status_code == 200:
                        acknowledged += 1
                        on_ack(acknowledged)
                        return
                    if response.status_code not in (502, 503, 504):
                        return  # a refusal: retrying would not change it
                await asyncio.sleep(0.2 * (attempt + 1))

    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(verify=tls, timeout=30, limits=limits) as client:
        await asyncio.wait_for(
            asyncio.gather(*(cast(client, *b) for b in ballots)), timeout=BURST_SECONDS
        )
    return outcomes


def call(base: str, cert: Path, method: str, path: str, token: str) -> tuple[int, Any]:
    import httpx

    tls = ssl.create_default_context(cafile=str(cert))
    response = httpx.request(
        method, base + path, headers={"Authorization": f"Token {token}"}, verify=tls, timeout=30
    )
    return response.status_code, response.json()


def served_ballots(node: Site) -> int:
    """The ballot PUTs a node answered, from its access log."""
    return sum(1 for line in node.log.read_text().splitlines() if '"PUT /api/v1/proposals/' in line)


# --- The test -------------------------------------------------------------------------


def test_a_web_node_killed_mid_burst_loses_no_acknowledged_ballot(tmp_path: Path) -> None:
    if not os.access(HAPROXY, os.X_OK):
        missing(
            f"needs Debian's haproxy at {HAPROXY} (apt-get install haproxy); .ci/run installs it"
        )
    started = time.monotonic()
    mails = tmp_path / "mail"
    with ExitStack() as stack:
        database: PrivatePostgres = stack.enter_context(private_postgres())
        broker = stack.enter_context(private_redis())
        env = site_env(
            database.url(DB),
            CELERY_BROKER_URL=broker.url,
            CELERY_TASK_ALWAYS_EAGER="false",
            # The rate limits' counts must be shared by the nodes, as in production.
            CACHE_URL=broker.url.removesuffix("/0") + "/1",
            QUORUM_PROXY_COUNT="1",
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(mails),
            QUORUM_DELIVERY_SWEEP_SECONDS="1",
        )
        database.sql(f'CREATE DATABASE "{DB}"')
        # The nodes start while the database is migrated (their probe needs only a
        # connection): the machine's two cores do both at once.
        migrate = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        stack.callback(migrate.kill)
        nodes = []
        for name in ("web1", "web2"):
            node = Site(env, tmp_path / f"{name}.log", workers=WORKERS_PER_NODE)
            stack.callback(node.stop)
            nodes.append(node)
        output, _ = migrate.communicate(timeout=180)
        assert migrate.returncode == 0, output
        # The vote opens with the broker up and no worker yet: its "vote opened" task
        # waits in the queue, and the worker sends those 500 emails during the burst.
        result = manage(
            env, "shell", "-c", "from tests.test_nodes import build_council; build_council()"
        )
        assert result.returncode == 0, result.stdout + result.stderr
        data = json.loads(result.stdout.strip().splitlines()[-1])
        proposal, units, tokens = data["proposal"], data["units"], data["tokens"]
        sent = {unit: CHOICES[i % 3] for i, unit in enumerate(units)}

        worker_log = tmp_path / "worker.log"
        worker = start_worker(env, worker_log, beat=True)
        stack.callback(stop_worker, worker)
        cert = tls_certificate(tmp_path)
        balancer = LoadBalancer(nodes, cert, tmp_path / "haproxy.log")
        stack.callback(balancer.stop)
        wait_for(
            lambda: _answers(balancer.base + "/healthz", cert),
            20,
            "HAProxy did not serve /healthz",
            balancer.log,
        )
        setup_seconds = time.monotonic() - started

        # --- The burst; node 1 dies once KILL_AFTER ballots are acknowledged ---------
        killed_at: list[int] = []
        cut: list[int] = []  # requests node 1 had received, unanswered, when it died

        def freeze_then_kill() -> None:
            # A killed node must have requests in flight, or the test shows nothing: an
            # idle moment of node 1 (the client is often the bottleneck) would let the
            # kill cut none. So node 1 first freezes (SIGSTOP), as a hung machine would;
            # HAProxy keeps sending it requests, which wait unread in its sockets; once
            # one does, SIGKILL cuts it.
            os.killpg(nodes[0].process.pid, signal.SIGSTOP)
            deadline = time.monotonic() + 10
            while not (waiting := unread_requests(nodes[0].port)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            cut.append(waiting)
            nodes[0].kill()

        killer = threading.Thread(target=freeze_then_kill)

        def on_ack(count: int) -> None:
            # Called in the clients' event loop: the freeze waits in its own thread.
            if count == KILL_AFTER and not killed_at:
                killed_at.append(count)
                killer.start()

        burst_started = time.monotonic()
        outcomes = asyncio.run(
            burst(
                balancer.base,
                cert,
                proposal,
                [(unit, token, sent[unit]) for unit, token in zip(units, tokens, strict=True)],
                on_ack,
            )
        )
        burst_seconds = time.monotonic() - burst_started
        killer.join(timeout=30)
        assert killed_at == [KILL_AFTER]
        assert cut and cut[0] > 0, "node 1 received no request while frozen"
        assert nodes[0].process.returncode == -signal.SIGKILL
        # Both nodes served ballots: the kill fell in the middle of the burst.
        assert served_ballots(nodes[0]) > 0 and served_ballots(nodes[1]) > 0

        refused = {u: o.statuses for u, o in outcomes.items() if not o.acknowledged}
        assert refused == {}, "the retries did not converge"
        failed = {u for u, o in outcomes.items() if o.failed_attempts}
        # The node died with requests in flight: their clients saw the failure and retried.
        assert len(failed) >= cut[0], (failed, cut)

        # --- Every acknowledged ballot stored once, with its choice ------------------
        (vote,) = database.sql(
            "SELECT id FROM proposals_vote WHERE proposal_id = %s", DB, (proposal,)
        )
        rows = database.sql(
            "SELECT unit_id, choice FROM proposals_ballot WHERE vote_id = %s", DB, vote
        )
        assert len(rows) == len({u for u, _ in rows}) == UNITS
        assert dict(rows) == sent
        # A unit cast twice is one whose first answer was lost after its commit (the node
        # died between the two): only a unit that retried may have a second cast.
        casts = Counter(
            data["unit"]
            for (data,) in database.sql(
                "SELECT data FROM council_ledgerevent WHERE action = 'vote.ballot_cast'", DB
            )
        )
        stored_but_unanswered = {u for u, n in casts.items() if n > 1}
        assert stored_but_unanswered <= failed
        assert set(casts) == set(units)

        # --- The worker announced the vote to every delegate meanwhile --------------
        wait_for(
            lambda: _sent(database, vote, "vote_opened") == UNITS,
            40,
            "the worker did not announce the vote",
            worker_log,
        )

        # --- The close, through the load balancer: the tally is the recount ----------
        status, tally = call(
            balancer.base, cert, "POST", f"/api/v1/proposals/{proposal}/close/", data["secretary"]
        )
        assert status == 200, tally
        recount = Counter(choice for _, choice in rows)
        assert (tally["yes"], tally["no"], tally["abstain"]) == (
            recount["yes"],
            recount["no"],
            recount["abstain"],
        )
        assert recount == Counter(sent.values())

        # --- The worker mails the result to every role, once; beat's sweep runs ------
        people = UNITS + 1
        wait_for(
            lambda: _sent(database, vote, "result") == people,
            30,
            "the worker did not send the result",
            worker_log,
        )
        ran = worker_log.read_text()
        assert "proposals.tasks.notify_vote_opened" in ran
        assert "proposals.tasks.notify_result" in ran
        assert "proposals.tasks.deliver_pending" in ran, "beat's sweep never ran"
        emails = Counter(sent_emails(mails))
        assert max(emails.values()) == 1  # none twice
        subjects = Counter(subject.split(":")[0].split("] ")[1] for _, subject in emails)
        assert subjects == {"Vote open": UNITS, "Result": people}

        ledger_agrees_with_the_ballots(database, env)
    total = time.monotonic() - started
    print(
        f"setup {setup_seconds:.1f}s, burst {burst_seconds:.1f}s, total {total:.1f}s; "
        f"{cut[0]} requests cut, {len(failed)} units retried, "
        f"{len(stored_but_unanswered)} stored but unanswered, "
        f"{sum(o.failed_attempts for o in outcomes.values())} failed attempts"
    )


def unread_requests(port: int) -> int:
    """Established connections to ``port`` on this machine with bytes the server has not
    read: requests sent to a node that does not answer (its listen backlog included)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            unread = int(queues.split(":")[1], 16)
            if int(local.rsplit(":", 1)[1], 16) == port and state == "01" and unread:
                count += 1
    return count


def _answers(url: str, cert: Path) -> bool:
    import httpx

    try:
        tls = ssl.create_default_context(cafile=str(cert))
        return httpx.get(url, verify=tls, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _sent(database: PrivatePostgres, vote: tuple[int], kind: str) -> int:
    (count,) = database.sql(
        "SELECT count(*) FROM proposals_notification "
        "WHERE kind = %s AND vote_id = %s AND sent_at IS NOT NULL",
        DB,
        (kind, *vote),
    )
    return count[0]
