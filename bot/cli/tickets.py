"""`desk tickets ...`: run the ticketing engine from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from bot.database import get_sessionmaker, migrate
from core.db import write_session

if TYPE_CHECKING:
    from ticketing.operations import FixtureChange

app = typer.Typer(help="Ticketing: fixtures, sales, the gate, operations.", no_args_is_help=True)


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else f"¥{fen / 100:,.2f}"


@app.command("init")
def init() -> None:
    """Create or upgrade the database schema (same as `desk db migrate`)."""
    migrate()
    typer.echo("database is up to date")


@app.command("load-demo")
def load_demo() -> None:
    """Load the demo club (stadium, season, prices) into an empty database."""
    from ticketing.demo import load_demo_data

    migrate()
    with write_session(get_sessionmaker()) as session:
        loaded = load_demo_data(session)
    typer.echo("demo data loaded" if loaded else "demo data already present (nothing changed)")


@app.command("fixtures")
def fixtures(
    all_: Annotated[bool, typer.Option("--all", help="Include past fixtures.")] = False,
) -> None:
    """List fixtures with their status, sale window and seats left."""
    from ticketing.fixtures import fixture_listings

    with get_sessionmaker()() as session:
        listings = fixture_listings(session, include_past=all_, limit=500)
    for f in listings:
        s = f.summary
        typer.echo(
            f"{s.id:>4}  {s.kickoff:%Y-%m-%d %H:%M}Z  {s.home_en} v {s.away_en} ({s.competition})"
            f"  {s.status}/{f.sale}  demand {f.demand}  {f.available}/{f.capacity} left"
            f"  from {_yuan(f.price_from)}"
        )


@app.command("report")
def report(
    fixture: Annotated[int | None, typer.Argument(help="One fixture id (default: all).")] = None,
) -> None:
    """Sales per fixture and category: sold, held, left, revenue; and refused requests."""
    from ticketing.operations import sales_report
    from ticketing.risk import refusal_counts

    with get_sessionmaker()() as session:
        lines = sales_report(session, fixture)
        refused = refusal_counts(session, fixture)
    current = None
    for line in lines:
        if line.fixture_id != current:
            current = line.fixture_id
            typer.echo(f"fixture {current}")
        typer.echo(
            f"  {line.category:<11} {_yuan(line.price):>10}  sold {line.sold:>6}  held "
            f"{line.held:>5}  left {line.available:>6}/{line.capacity:<6}  revenue "
            f"{_yuan(line.revenue)}"
        )
    if refused:
        typer.echo("refused: " + ", ".join(f"{k} {v}" for k, v in sorted(refused.items())))


@app.command("risk")
def risk(
    minutes: Annotated[
        int, typer.Option(min=1, max=7 * 24 * 60, help="How far back to look, in minutes.")
    ] = 60,
) -> None:
    """Refused requests per minute and reason (holds over a cap or budget, refused keys,
    sign-ins, widget sessions), then the totals of the period."""
    from core.clock import utcnow
    from ticketing.risk import refusals_per_minute

    since = utcnow() - timedelta(minutes=minutes)
    with get_sessionmaker()() as session:
        counts = refusals_per_minute(session, since)
    if not counts:
        typer.echo(f"no refused requests in the last {minutes} minutes")
        return
    totals: dict[str, int] = {}
    for count in counts:
        typer.echo(f"{count.minute:%Y-%m-%d %H:%M}Z  {count.reason:<24} {count.count:>6}")
        totals[count.reason] = totals.get(count.reason, 0) + count.count
    typer.echo(
        f"last {minutes} minutes: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
    )


@app.command("validate")
def validate(
    code: Annotated[str, typer.Argument(help="The ticket code (the text in the QR code).")],
    fixture: Annotated[int | None, typer.Option(help="The match being admitted.")] = None,
) -> None:
    """Check a ticket code as the gate would (signature, fixture, revocation list)."""
    from ticketing.gate import revoked_set, validate_code

    with get_sessionmaker()() as session:
        revoked = revoked_set(session)
    scan = validate_code(code, fixture_id=fixture, revoked=revoked)
    typer.echo(f"{scan.result}: {scan.message}")
    if scan.ticket_id is not None:
        typer.echo(f"ticket {scan.ticket_id}, fixture {scan.fixture_id}, seat id {scan.seat_id}")
    raise typer.Exit(0 if scan.result == "ok" else 1)


@app.command("rotate-keys")
def rotate_keys() -> None:
    """Start signing with a new key; old public keys stay trusted until their matches are over."""
    from ticketing.keys import default_keyring
    from ticketing.operations import prune_keys

    ring = default_keyring()
    old = ring.current().kid
    new = ring.rotate()
    dropped = prune_keys(get_sessionmaker(), keys=ring)
    typer.echo(f"signing key {old} -> {new} (keys in {ring.directory})")
    if dropped:
        typer.echo("no longer trusted (all their matches are over): " + ", ".join(dropped))


def _parse_when(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("use ISO 8601, e.g. 2026-12-20T19:35+08:00") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _queue_notices(change: FixtureChange) -> None:
    from bot.notifications.sources import enqueue_fixture_change

    queued = enqueue_fixture_change(get_sessionmaker(), change)
    typer.echo(f"{queued} notices queued for the fans' chats (the running desk sends them)")


@app.command("postpone")
def postpone(
    fixture: Annotated[int, typer.Argument(help="Fixture id.")],
    to: Annotated[str, typer.Option("--to", help="New kick-off, ISO 8601 (UTC if no offset).")],
) -> None:
    """Move a fixture to a new date; tickets stay valid; lists the fans to notify."""
    from ticketing.errors import TicketingError
    from ticketing.operations import postpone_fixture

    try:
        change = postpone_fixture(get_sessionmaker(), fixture, _parse_when(to))
    except TicketingError as exc:
        typer.secho(f"{exc.code}: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"fixture {change.fixture_id} postponed to {change.kickoff:%Y-%m-%d %H:%M}Z")
    typer.echo(f"{len(change.fans)} fans to notify:")
    for fan in change.fans:
        typer.echo(f"  {fan.customer}  {fan.email or '-'}  {fan.tickets} tickets")
    _queue_notices(change)


@app.command("cancel")
def cancel(
    fixture: Annotated[int, typer.Argument(help="Fixture id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Cancel a fixture: every order refunded in full, every code revoked; lists the fans."""
    from ticketing.errors import TicketingError
    from ticketing.operations import cancel_fixture

    if not yes:
        typer.confirm(f"Cancel fixture {fixture} and refund every order?", abort=True)
    try:
        change = cancel_fixture(get_sessionmaker(), fixture)
    except TicketingError as exc:
        typer.secho(f"{exc.code}: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"fixture {change.fixture_id} cancelled: {change.orders_refunded} orders refunded, "
        f"{_yuan(change.amount_refunded)} in total"
    )
    typer.echo(f"{len(change.fans)} fans to notify:")
    for fan in change.fans:
        typer.echo(
            f"  {fan.customer}  {fan.email or '-'}  {fan.tickets} tickets  "
            f"refunded {_yuan(fan.refunded)}"
        )
    _queue_notices(change)


@app.command("reconcile")
def reconcile() -> None:
    """Settle timed-out payments, resend refunds, free expired holds, check the books."""
    from ticketing.operations import reconcile as run

    report = run(get_sessionmaker())
    for outcome, refs in report.orders.items():
        if refs:
            typer.echo(f"orders {outcome}: {', '.join(refs)}")
    if report.compensated:
        typer.echo(f"charges given back: {', '.join(report.compensated)}")
    typer.echo(f"refunds sent: {report.refunds_sent}; holds released: {report.holds_released}")
    if report.problems:
        for name, items in report.problems.items():
            typer.secho(f"PROBLEM {name}: {', '.join(items)}", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("books balance: every payment has its tickets, no seat is sold twice")
