"""How long the heaviest staff pages take to render: the board of a period of 2,000 commitments
(a tenth of them billed in the period, half of those certified), and the pay-app page of a
300-line SOV. Target: each under 100 ms of server time.

The app runs in this process (no network between the timer and the server) on a SQLite file
seeded through the services; each page is fetched as a signed-in browser fetches it, and its
JSON twin in the API (the same reads without the HTML) is timed in the same run as the baseline,
since these machines are shared and noisy.

    uv run python -m benchmarks.pages [--commitments 2000] [--lines 300] [--requests 30]
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from api.app import create_app
from benchmarks.measure import machine_facts
from paydraw import actors
from paydraw.commitments.schemas import CommitmentCreate, ContactIn, SovLineIn
from paydraw.commitments.service import approve_sov, create_commitment
from paydraw.db.engine import make_engine, session_scope
from paydraw.db.migrate import upgrade
from paydraw.domain.transitions import Role
from paydraw.invitations.service import record_invites
from paydraw.pay_apps import service as pay_apps
from paydraw.pay_apps.notify import Links
from paydraw.pay_apps.schemas import PayAppCreate, Review, ReviewDecision
from paydraw.periods.schemas import PeriodCreate
from paydraw.periods.service import open_period
from paydraw.projects.schemas import ProjectCreate
from paydraw.projects.service import create_project
from paydraw.settings import Settings
from paydraw.users.service import ensure_user, issue_key
from paydraw.users.sign_in import start_session

TARGET_MS = 100.0
THOUSAND = Decimal("1000.00")


def seed(settings: Settings, commitments: int, lines: int) -> dict[str, str]:
    engine = make_engine(settings.resolved_database_url)
    upgrade(settings.resolved_database_url)
    with session_scope(engine) as session:
        user = ensure_user(session, "ap@benchmark.example")
        actor = actors.user(user.id, user.email)
        project = create_project(session, actor, ProjectCreate(name="Benchmark Tower"))
        today = date.today()
        period, _ = open_period(
            session,
            actor,
            project.id,
            PeriodCreate(
                start_date=today,
                end_date=today + timedelta(days=29),
                due_date=today + timedelta(days=20),
            ),
        )
        ids = []
        for n in range(commitments):
            created = create_commitment(
                session,
                actor,
                project.id,
                CommitmentCreate(
                    number=f"SC-{n:05d}",
                    vendor_name=f"Vendor {n}",
                    contacts=[ContactIn(email=f"billing@vendor-{n}.example")],
                    sov_lines=[SovLineIn(code="01", scheduled_value=Decimal("60000.00"))],
                ),
            )
            approve_sov(session, actor, created.id)
            ids.append(created.id)
        # Half the period invited, as on a busy board.
        at = datetime.now(UTC)
        record_invites(
            session, settings, period.id, ids[: commitments // 2], actor=actor, message="", at=at
        )
        # A tenth of them billed in the period, and half of those certified, so the board's
        # amounts sum real pay apps.
        links = Links(settings)
        percent = {"entry": {"mode": "contract_percent", "percent": "10"}}
        tenth = PayAppCreate.model_validate(percent)
        for n, commitment_id in enumerate(ids[: commitments // 10]):
            billed = pay_apps.create(session, actor, Role.ADMIN, commitment_id, period.id, tenth)
            if n % 2:
                continue
            pay_apps.submit(session, actor, Role.ADMIN, billed.id, links=links)
            approve = Review(decision=ReviewDecision.APPROVE)
            pay_apps.review(session, actor, Role.ADMIN, billed.id, approve, links=links)
            pay_apps.finalize(session, actor, Role.ADMIN, billed.id, links=links)
        big = create_commitment(
            session,
            actor,
            project.id,
            CommitmentCreate(
                number="SC-BIG",
                vendor_name="Many Lines Mechanical",
                sov_lines=[
                    SovLineIn(
                        code=f"{n:03d}", description=f"Item {n}", scheduled_value=Decimal("1000")
                    )
                    for n in range(lines)
                ],
            ),
        )
        approve_sov(session, actor, big.id)
        pay_app = pay_apps.create(
            session,
            actor,
            Role.ADMIN,
            big.id,
            period.id,
            PayAppCreate.model_validate({"entry": {"mode": "contract_percent", "percent": "10"}}),
        )
        cookie = start_session(session, settings, user)
        key = issue_key(session, user)
    engine.dispose()
    return {"period": period.id, "pay_app": pay_app.id, "cookie": cookie, "key": key}


async def median_ms(client: httpx.AsyncClient, path: str, requests: int, **kwargs: object) -> float:
    timings = []
    for _ in range(requests + 2):
        started = time.perf_counter()
        response = await client.get(path, **kwargs)  # type: ignore[arg-type]
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
    return statistics.median(timings[2:])  # the first two warm the caches


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commitments", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), secret_key="benchmark")
        print("\n".join(machine_facts(settings.resolved_database_url)))
        print(f"seeding {args.commitments} commitments and a {args.lines}-line SOV ...", flush=True)
        seeded = seed(settings, args.commitments, args.lines)
        engine = make_engine(settings.resolved_database_url)
        app = create_app(settings, engine)
        logging.disable(logging.INFO)  # a log line per request would be timed too
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
            client.cookies.set("paydraw_session", seeded["cookie"])
            api = {"Authorization": f"Bearer {seeded['key']}"}
            rows = [
                (
                    f"board, {args.commitments} commitments",
                    f"/billing-periods/{seeded['period']}",
                    f"/api/v1/billing-periods/{seeded['period']}",
                ),
                (
                    f"pay-app page, {args.lines} lines",
                    f"/pay-apps/{seeded['pay_app']}",
                    f"/api/v1/pay-apps/{seeded['pay_app']}",
                ),
            ]
            print(f"{'page':<32} {'page ms':>8} {'JSON ms':>8} {'ratio':>6}  target")
            for name, page, twin in rows:
                shown = await median_ms(client, page, args.requests)
                baseline = await median_ms(client, twin, args.requests, headers=api)
                verdict = "PASS" if shown < TARGET_MS else "FAIL"
                print(
                    f"{name:<32} {shown:>8.1f} {baseline:>8.1f} {shown / baseline:>6.2f}  "
                    f"< {TARGET_MS:.0f} ms: {verdict}"
                )
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
