"""The stock ledger under faults, Jepsen-style: a real ``dfims serve`` with two worker processes
on a PostgreSQL cluster of its own; eight clients place, confirm, ship and cancel orders,
receive deliveries against purchase orders, transfer and adjust stock, while worker processes
are SIGKILLed and PostgreSQL is crashed (immediate stop) and started again under them.

Every write carries an Idempotency-Key and is recorded: acknowledged, refused or
indeterminate. Once the service is back, each indeterminate write is sent once more with the
same key and body, which settles it: the first answer is replayed (it had been applied) or the
write runs now. The database must then hold exactly what the settled history says: each
acknowledged write once, nothing of a refused one, no order reserved or issued in part, the
levels equal to the history's sums, the projection equal to the ledger (``dfims stock check``).
Last, a thousand keys are replayed, some at the same time: each answers its first answer again
and nothing more is written; and fresh keyed writes sent four times at once are applied once.

DFIMS_CHAOS_SEED repeats a run's random choices (the faults still land where they land);
DFIMS_CHAOS_REPORT names a file to write the run's figures to as JSON.
"""

import json
import os
import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.models.user import Role
from tests.conftest import PASSWORD, MakeUser
from tests.integration.chaos_checks import (
    Database,
    Invariants,
    check_database,
    check_stock_command,
    projection_drift,
)
from tests.integration.chaos_load import (
    ACKNOWLEDGED,
    INDETERMINATE,
    KILL_WORKER,
    REFUSED,
    RESTART_DATABASE,
    Answer,
    Api,
    Chaos,
    History,
    Json,
    send_together,
    wait_until_quiet,
    wait_until_serving,
)
from tests.integration.chaos_scene import (
    ADJUSTMENTS,
    ADMIN_EMAIL,
    CLIENTS,
    LOAD_SECONDS,
    ORDERS,
    TRANSFERS,
    Client,
    Scene,
    make_scene,
    run_load,
    settle,
    sign_in,
)
from tests.integration.clusters import private_postgres
from tests.support.servers import migrate_with_admin, running_server

pytestmark = [pytest.mark.postgres, pytest.mark.system]


WORKERS = 2
CLIENT_TIMEOUT = 10.0
SETTLE_TIMEOUT = 60.0
# A respawned worker takes a while to import the application on a busy machine: the last
# fault is a database restart, which the service gets over at once.
PLAN = [
    KILL_WORKER,
    RESTART_DATABASE,
    KILL_WORKER,
    KILL_WORKER,
    RESTART_DATABASE,
    KILL_WORKER,
    RESTART_DATABASE,
]
FIRST_FAULT_AFTER = 4.0
FAULT_EVERY = 4.5
REPLAY_KEYS = 1000
REPLAY_THREADS = 8
REPLAYED_TOGETHER = 100  # keys sent four times at once
RACED_KEYS = 12  # fresh keys of each kind sent RACERS times at once
RACERS = 4
# Fewer than this many settled writes of a kind and the run proves too little.
AT_LEAST_APPLIED = {
    "create_order": 30,
    "confirm": 15,
    "ship": 5,
    "cancel": 3,
    "receipt": 5,
    "transfer": 5,
    "adjustment": 3,
}
# The only refusals a write may get: the others mean the history and the service disagree.
EXPECTED_REFUSALS = {
    "confirm": {"insufficient-stock"},
    "transfer": {"insufficient-stock"},
    "adjustment": {"insufficient-stock"},
}


# -- replaying keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    """A keyed write and the answer its key must keep giving."""

    path: str
    body: Json | None
    key: str
    answer: Answer


def more_keyed_writes(api: Api, scene: Scene, count: int) -> list[Replay]:
    """``count`` new orders placed with keys of their own (pending: they hold no stock)."""

    def place(n: int) -> Replay:
        key = f"chaos-extra-{n:05d}"
        body = {
            "customer_id": scene.customers[n % len(scene.customers)],
            "notes": key,
            "lines": [{"product_id": scene.products[n % len(scene.products)], "quantity": "1.5"}],
        }
        answer = api.post(ORDERS, body, key)
        assert answer.status == 201, (key, answer)
        return Replay(ORDERS, body, key, answer)

    with ThreadPoolExecutor(max_workers=REPLAY_THREADS) as pool:
        return list(pool.map(place, range(count)))


def replay(api: Api, replays: list[Replay], rng: random.Random) -> tuple[int, list[object]]:
    """Send every replay once, and REPLAYED_TOGETHER of them four times at the same moment;
    how many requests went, and every answer that was not the first one again."""
    together = replays[:REPLAYED_TOGETHER]
    singles = list(replays[REPLAYED_TOGETHER:])
    rng.shuffle(singles)
    wrong: list[object] = []
    lock = threading.Lock()

    def send(item: Replay, barrier: threading.Barrier | None = None) -> None:
        if barrier is not None:
            barrier.wait(timeout=60)
        answer = api.post(item.path, item.body, item.key)
        if (answer.status, answer.body, answer.replayed) != (
            item.answer.status,
            item.answer.body,
            True,
        ):
            with lock:
                wrong.append((item.key, answer.status, answer.replayed, answer.body[:200]))

    with ThreadPoolExecutor(max_workers=REPLAY_THREADS) as pool:
        for future in [pool.submit(send, item) for item in singles]:
            future.result()
    with ThreadPoolExecutor(max_workers=4) as pool:
        for item in together:
            barrier = threading.Barrier(4)
            for future in [pool.submit(send, item, barrier) for _ in range(4)]:
                future.result()
    return len(singles) + 4 * len(together), wrong


# -- keys sent several times at once -----------------------------------------------------------


@dataclass(frozen=True)
class Race:
    """A fresh keyed write sent several times at the same moment, and what came back."""

    kind: str
    key: str
    answers: list[Answer]

    def violations(self) -> list[object]:
        """Anything but one answer from the request that did the work, replays of that very
        answer, and 409s."""
        done = [a for a in self.answers if a.outcome == ACKNOWLEDGED]
        wrong: list[object] = []
        if len([a for a in done if not a.replayed]) != 1:
            wrong.append((self.key, "worked", [(a.status, a.replayed) for a in done]))
        if len({a.body for a in done}) > 1:
            wrong.append((self.key, "answers differ", [a.body[:80] for a in done]))
        wrong.extend(
            (self.key, a.status, a.problem)
            for a in self.answers
            if a.outcome != ACKNOWLEDGED and a.status != 409
        )
        return wrong

    def first(self) -> Any:
        """The body of the answer that did the work."""
        return next(a for a in self.answers if a.outcome == ACKNOWLEDGED and not a.replayed).json()


def race_duplicates(invariants: Invariants, api: Api, db: Database, scene: Scene) -> Counter[str]:
    """Place, confirm and transfer with fresh keys, each request sent RACERS times at once:
    each must be applied once, and every copy answered with the first answer or a 409. How
    the copies that did not do the work were answered."""
    lot = scene.lots[0]
    source, target = scene.warehouses[0], scene.warehouses[1]
    topped_up = {
        "product_id": lot.product,
        "lot_id": lot.id,
        "warehouse_id": source,
        "quantity": "50",
        "reference": "race-top-up",
        "reason": "stock for the races",
    }
    assert api.post(ADJUSTMENTS, topped_up, "race-top-up").status == 201
    races: list[Race] = []
    for n in range(RACED_KEYS):
        key = f"race-order-{n:03d}"
        body = {
            "customer_id": scene.customers[0],
            "warehouse_id": source,
            "notes": key,
            "lines": [{"product_id": lot.product, "quantity": "0.5"}],
        }
        placed = Race("create_order", key, send_together(api, ORDERS, body, key, RACERS))
        races.append(placed)
        if placed.violations():
            continue
        order_id = placed.first()["id"]
        key = f"race-confirm-{n:03d}"
        path = f"{ORDERS}/{order_id}/confirm"
        races.append(Race("confirm", key, send_together(api, path, None, key, RACERS)))
        key = f"race-transfer-{n:03d}"
        body = {
            "product_id": lot.product,
            "lot_id": lot.id,
            "from_warehouse_id": source,
            "to_warehouse_id": target,
            "quantity": "0.5",
            "reference": key,
            "reason": "rebalancing",
        }
        races.append(Race("transfer", key, send_together(api, TRANSFERS, body, key, RACERS)))
    invariants.hold(
        "copies of a keyed write sent at once get its answer or a 409",
        [violation for race in races for violation in race.violations()],
    )
    orders = Counter(
        notes for (notes,) in db.rows("SELECT notes FROM sales_orders WHERE notes LIKE 'race-%%'")
    )
    held = dict(
        db.rows(
            "SELECT o.notes, sum(r.quantity) FROM sales_orders o JOIN reservations r "
            "ON r.reference LIKE o.number || '/%%' WHERE o.notes LIKE 'race-%%' AND "
            "r.status = 'active' GROUP BY o.notes"
        )
    )
    moved = Counter(
        reference
        for (reference,) in db.rows(
            "SELECT reference FROM stock_movements WHERE reference LIKE 'race-transfer-%%'"
        )
    )
    wanted = {f"race-order-{n:03d}" for n in range(RACED_KEYS)}
    invariants.hold(
        "copies of a keyed write sent at once are applied once",
        [("orders", key, orders[key]) for key in wanted if orders[key] != 1]
        + [("held", key, held.get(key)) for key in wanted if held.get(key) != Decimal("0.5")]
        + [
            ("transfer legs", race.key, moved[race.key])
            for race in races
            if race.kind == "transfer" and moved[race.key] != 2
        ],
    )
    return Counter(
        f"{race.kind}: {a.status} {a.problem if a.status >= 400 else 'replayed'}"
        for race in races
        for a in race.answers
        if a.replayed or a.outcome != ACKNOWLEDGED
    )


# -- the test ----------------------------------------------------------------------------------


def service_log_errors(path: Path) -> dict[str, int]:
    """What the service logged as errors and warnings, by message up to its first detail."""
    found: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            message = str(entry.get("message", ""))
            found[f"{entry['level']} {message.split(' (', 1)[0][:100]}"] += 1
    return dict(found)


def summarize(history: History) -> dict[str, Any]:
    """Writes attempted, and how they came out, overall and per kind."""
    kinds: dict[str, dict[str, int]] = {}
    for write in history.writes:
        figures = kinds.setdefault(
            write.kind,
            {"attempted": 0, ACKNOWLEDGED: 0, REFUSED: 0, INDETERMINATE: 0, "applied": 0},
        )
        figures["attempted"] += 1
        figures[write.first.outcome] += 1
        figures["applied"] += write.applied
    first = history.first_outcomes()
    retried = [write for write in history.writes if write.retry is not None]
    return {
        "attempted": len(history.writes),
        ACKNOWLEDGED: first[ACKNOWLEDGED],
        REFUSED: first[REFUSED],
        INDETERMINATE: first[INDETERMINATE],
        "by_kind": kinds,
        "error_answers": dict(
            Counter(w.first.problem for w in history.writes if w.first.status >= 400)
        ),
        "indeterminate_causes": dict(
            Counter(
                w.first.error or f"HTTP {w.first.status} {w.first.problem}"
                for w in history.writes
                if w.first.outcome == INDETERMINATE
            )
        ),
        "indeterminate_settled": {
            "had_been_applied": sum(1 for w in retried if w.retry and w.retry.replayed),
            "applied_on_retry": sum(
                1 for w in retried if w.retry and w.applied and not w.retry.replayed
            ),
            "refused_on_retry": sum(1 for w in retried if not w.applied),
        },
    }


def test_ledger_survives_killed_workers_and_database_crashes(tmp_path: Path) -> None:
    began = time.monotonic()
    seed = int(os.environ.get("DFIMS_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    rng = random.Random(seed)  # noqa: S311 (a reproducible workload, not a secret)
    invariants = Invariants()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - began, 1)

    with private_postgres() as cluster:
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "DATA_DIR": str(tmp_path / "data"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "LOG_DIR": str(tmp_path / "logs"),
        }
        migrate_with_admin(env, ADMIN_EMAIL, PASSWORD)
        phase("migrated")
        with running_server(env, workers=WORKERS) as server:
            phase("serving")
            api = sign_in(server, CLIENT_TIMEOUT)
            scene = make_scene(api)
            phase("scene")
            history = History()
            clients = [
                Client(n, api, scene, history, random.Random(rng.getrandbits(64)))  # noqa: S311
                for n in range(CLIENTS)
            ]
            chaos = Chaos(
                server,
                cluster,
                PLAN,
                FIRST_FAULT_AFTER,
                FAULT_EVERY,
                random.Random(rng.getrandbits(64)),  # noqa: S311
            )
            run_load(clients, chaos)
            phase("load")
            wait_until_serving(server, WORKERS)
            with cluster.connect() as connection:
                wait_until_quiet(connection)
            phase("recovered")
            still_at_work = settle(history, sign_in(server, SETTLE_TIMEOUT))
            phase("settled")

            unsettled = [w.key for w in history.writes if w.answer.outcome == INDETERMINATE]
            assert not unsettled, f"retries that settled nothing: {unsettled[:10]}"
            invariants.hold(
                "no write refused but for lack of stock",
                [
                    (w.kind, w.key, w.answer.status, w.answer.problem)
                    for w in history.writes
                    if w.answer.outcome == REFUSED
                    and w.answer.problem not in EXPECTED_REFUSALS.get(w.kind, set())
                ],
            )
            with cluster.connect() as connection:
                db = Database(connection)
                totals = check_database(invariants, db, scene, history)
                phase("checked")
                check_stock_command(invariants, env, "dfims stock check finds no difference")
                phase("stock check")

                replays = [
                    Replay(w.path, w.body, w.key, w.answer) for w in history.writes if w.applied
                ]
                replay_api = sign_in(server, SETTLE_TIMEOUT)
                extra = max(0, REPLAY_KEYS - len(replays))
                replays += more_keyed_writes(replay_api, scene, extra)
                phase("extra writes")
                before = db.counts()
                requests, wrong = replay(replay_api, replays, rng)
                invariants.hold("every replay answers the first answer again", wrong)
                phase("replayed")
                after = db.counts()
                invariants.hold(
                    "replays write nothing",
                    [
                        (name, before[name], after[name])
                        for name in before
                        if before[name] != after[name]
                    ],
                )
                raced = race_duplicates(invariants, replay_api, db, scene)
                phase("raced")
                invariants.hold("levels equal the ledger after the races", projection_drift(db))
            server_output = server.output()

    figures = summarize(history)
    report = {
        "seed": seed,
        "clients": CLIENTS,
        "workers": WORKERS,
        "load_seconds": LOAD_SECONDS,
        "operations": figures,
        "faults": {
            KILL_WORKER: chaos.count(KILL_WORKER),
            RESTART_DATABASE: chaos.count(RESTART_DATABASE),
            "log": [f"{fault.at}s {fault.kind}: {fault.detail}" for fault in chaos.faults],
        },
        "totals": totals,
        "invariants_checked": len(invariants.held),
        "invariants": invariants.held,
        "keys_replayed": len(replays),
        "replay_requests": requests,
        "extra_keyed_writes": extra,
        "retries_answered_still_at_work": still_at_work,
        "racing_copies": dict(raced),
        "tracebacks_in_server_output": server_output.count("Traceback"),
        "workers_killed": chaos.killed,
        "worker_deaths_seen_by_the_supervisor": [
            int(pid) for pid in re.findall(r"Child process \[(\d+)\] died", server_output)
        ],
        "service_log": service_log_errors(tmp_path / "logs" / "dfims.log"),
        "seconds": round(time.monotonic() - began, 1),
        "phases": phases,
    }
    print(
        f"\nledger chaos (seed {seed}): {figures['attempted']} writes attempted, "
        f"{figures[ACKNOWLEDGED]} acknowledged, {figures[REFUSED]} refused, "
        f"{figures[INDETERMINATE]} indeterminate "
        f"(settled: {figures['indeterminate_settled']}); "
        f"faults: {chaos.count(KILL_WORKER)} worker SIGKILLs, "
        f"{chaos.count(RESTART_DATABASE)} PostgreSQL immediate restarts; "
        f"{len(invariants.held)} invariants checked; {len(replays)} keys replayed "
        f"({requests} requests); {report['seconds']}s"
    )
    if os.environ.get("DFIMS_CHAOS_REPORT"):
        Path(os.environ["DFIMS_CHAOS_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")

    # The run proves something only if the faults and the writes really happened.
    assert not chaos.errors, chaos.errors
    assert chaos.count(KILL_WORKER) >= 3, chaos.faults
    assert chaos.count(RESTART_DATABASE) >= 2, chaos.faults
    assert figures[INDETERMINATE] >= 5, figures
    assert figures[REFUSED] >= 1, figures
    assert figures[ACKNOWLEDGED] >= 100, figures
    for kind, least in AT_LEAST_APPLIED.items():
        applied = figures["by_kind"].get(kind, {}).get("applied", 0)
        assert applied >= least, (kind, applied, figures["by_kind"])
    assert len(replays) >= REPLAY_KEYS


def test_a_copy_racing_its_request_gets_the_first_answer(
    test_env: dict[str, str], make_user: MakeUser
) -> None:
    """A client that sends a confirmation again before the first answer came (a timeout, a
    proxy retrying) gets the first answer replayed - never a refusal saying the order cannot
    be confirmed, when it was: the copy waits for the first request to finish."""
    admin = make_user(role=Role.ADMIN)
    with running_server(test_env, workers=1) as server:
        api = sign_in(server, SETTLE_TIMEOUT, admin.email)
        scene = make_scene(api)
        races = []
        for n in range(RACED_KEYS):
            body = {
                "customer_id": scene.customers[0],
                "lines": [{"product_id": scene.products[0], "quantity": "1"}],
            }
            order = api.made(ORDERS, body)
            key = f"confirm-{n:03d}"
            path = f"{ORDERS}/{order['id']}/confirm"
            races.append(Race("confirm", key, send_together(api, path, None, key, RACERS)))

    answers = Counter(
        f"{a.status} {a.problem if a.status >= 400 else 'replayed' if a.replayed else 'first'}"
        for race in races
        for a in race.answers
    )
    assert answers["200 first"] == RACED_KEYS, answers
    assert answers["200 replayed"] == RACED_KEYS * (RACERS - 1), answers
