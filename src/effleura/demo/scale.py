"""`effleura demo --scale N`: a large synthetic practice for benchmarks.

N patients, 50 practitioners who each see 8 patients on BENCH_DAY at BENCH_LOCATION (and
the first ten 8 more on SMALL_DAY), about 10·N appointments over the seven years before
BENCH_DAY in every status and four weeks of bookings after it, with episodes, plans,
goals, signed notes with techniques, measurements, charges, invoices, payments,
referrals, and about ten audit events per visit. Everything is made up and labelled as
demo data (docs/performance.md#scale, docs/decisions/0023-scale-demo-bulk-load.md).

Fast because it is written in bulk (demo/scale_load.py: PostgreSQL COPY, SQLite
executemany) from a plan that is a pure function of N (demo/scale_plan.py), straight into
the tables, not through the actions: the rows are made the way the actions make them
(derived fields, versions, statuses that agree with each other) and every database
constraint holds. Each step is one transaction that also records itself in ScaleBuild,
so a failed build resumes where it stopped when run again with the same N.
"""

import datetime
import time
from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from effleura.core.choices import Role
from effleura.core.models import AuditEvent, Practice, User
from effleura.demo import scale_plan as sp
from effleura.demo import scale_rows
from effleura.demo.data import DEMO_PASSWORD
from effleura.demo.models import ScaleBuild
from effleura.demo.scale_load import Writer
from effleura.patients.models import ChartNumberSequence, Patient
from effleura.scheduling.models import Appointment, Location, OpeningHours, Room, Service, WorkingHours

BENCH_DAY = sp.BENCH_DAY
SMALL_DAY = sp.SMALL_DAY
BENCH_LOCATION = sp.BENCH_LOCATION
PRACTICE_NAME = "Bench Practice (synthetic benchmark data)"
OWNER, THERAPIST, FRONTDESK, BILLING = "bench-owner", "bench-therapist", "bench-frontdesk", "bench-billing"


class ScaleRefused(Exception):
    """The database is not one the builder may write (or no bench practice is loaded)."""


@dataclass(frozen=True)
class ScaleResult:
    created: bool  # False when this practice was already there and nothing was written
    n: int
    counts: dict  # table -> rows written by this run
    seconds: float


@dataclass(frozen=True)
class BenchTargets:
    owner: str
    therapist: str
    frontdesk: str
    billing: str
    location: UUID
    therapist_id: UUID
    chart_patient: UUID
    note: UUID
    account_patient: UUID
    search_hit: str
    search_miss: str
    n: int


def practitioner_username(p: int) -> str:
    """Practitioner ``p`` (0-based) of the 50."""
    return THERAPIST if p == 0 else f"bench-pract-{p + 1:02d}"


STEPS = ("setup", "patients", "appointments", "clinical", "billing", "referrals", "audit")


def build(n: int, *, out=print) -> ScaleResult:
    """Build the practice for ``n`` patients into an empty, migrated database, or finish a
    build of the same ``n`` that stopped. Raises ScaleRefused for another ``n`` or a
    database with other data; returns created=False when it is already complete."""
    started = time.monotonic()
    n = int(n)
    if n < sp.MIN_N:
        raise ScaleRefused(f"--scale needs at least {sp.MIN_N} patients (two for each of the 50 practitioners).")
    plan = sp.Plan(n)
    if plan.too_large():
        raise ScaleRefused(
            f"{n:,} patients do not fit: about 10 visits each would need more than {sp.SLOTS} a day per "
            f"practitioner over the seven years. Use at most about {plan.max_n():,}."
        )
    state = ScaleBuild.objects.order_by("pk").first()
    if state is None:
        if _other_data():
            raise ScaleRefused(
                "This database already holds data (accounts, patients or a practice): the synthetic "
                "benchmark practice is only built into an empty database, right after `effleura migrate`."
            )
        state = ScaleBuild.objects.create(n=n, seed=plan.seed)
    elif state.n != n or state.seed != plan.seed:
        raise ScaleRefused(
            f"This database holds the synthetic benchmark practice for {state.n:,} patients, not {n:,}. "
            "Build another size into another (empty) database."
        )
    if state.finished_at is not None:
        return ScaleResult(created=False, n=n, counts={}, seconds=time.monotonic() - started)

    writer = Writer(out)
    if state.steps:
        out(f"Resuming the build for {n:,} patients after: {', '.join(state.steps)}.")
    for step in STEPS:
        if step in state.steps:
            continue
        out(f"{step}…")
        step_started = time.monotonic()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL TIME ZONE 'UTC'")
                    # Room to sort when the step builds its tables' indexes (demo/scale_load.py).
                    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
                    # Foreign keys checked at the end of each COPY, not queued to the commit:
                    # a table's indexes are built right after its rows (no pending checks).
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            STEP_FUNCTIONS[step](plan, writer)
            state.steps = [*state.steps, step]
            state.save(update_fields=["steps"])
        out(f"{step} done in {time.monotonic() - step_started:.1f} s")
    state.finished_at = timezone.now()
    state.save(update_fields=["finished_at"])
    return ScaleResult(created=True, n=n, counts=dict(writer.counts), seconds=time.monotonic() - started)


def _other_data() -> bool:
    return (
        User.objects.exists()
        or Patient.objects.exists()
        or Practice.objects.exists()
        or Location.objects.exists()
        or Appointment.objects.exists()
        or AuditEvent.objects.exists()
    )


# Steps ---------------------------------------------------------------------------------------


def _setup(plan: sp.Plan, writer: Writer) -> None:
    """The practice, its staff, locations, rooms, services and working hours (few rows: ORM)."""
    Practice.objects.create(
        name=PRACTICE_NAME,
        address_line1="1 Example Plaza",
        city="Anytown",
        region="CA",
        postal_code="90000",
        country="United States",
        phone="(213) 555-0100",
        email="bench@example.com",
        time_zone=sp.TIME_ZONE,
        phone_region="US",
        care_team_only=False,
        mfa_required_roles=[],
        is_demo=True,
    )
    password = make_password(DEMO_PASSWORD)
    staff = [
        (OWNER, "Avery", "Benchley", "LMT", Role.OWNER),
        (FRONTDESK, "Casey", "Deskworth", "", Role.FRONT_DESK),
        (BILLING, "Robin", "Ledgerly", "", Role.BILLING),
    ]
    for p in range(sp.PRACTITIONERS):
        first, last = scale_rows.practitioner_name(p)
        staff.append((practitioner_username(p), first, last, "LMT", Role.THERAPIST))
    users = User.objects.bulk_create(
        User(
            username=username,
            first_name=first,
            last_name=last,
            credentials=credentials,
            email=f"{username}@example.com",
            role=role,
            password=password,
            is_demo=True,
            date_joined=timezone.make_aware(datetime.datetime(2019, 1, 2, 9)),
        )
        for username, first, last, credentials, role in staff
    )
    practitioners = [u for u in users if u.role == Role.THERAPIST]
    locations = Location.objects.bulk_create(
        Location(
            name=name,
            address_line1=f"{100 + i * 20} Example Street",
            city="Anytown",
            region="CA",
            postal_code="90000",
            phone=f"(213) 555-01{10 + i:02d}",
            time_zone=sp.TIME_ZONE,
        )
        for i, (name, _rooms) in enumerate(sp.LOCATIONS)
    )
    Room.objects.bulk_create(
        Room(location=location, name=scale_rows.room_name(r))
        for location, (_name, rooms) in zip(locations, sp.LOCATIONS, strict=True)
        for r in range(rooms)
    )
    OpeningHours.objects.bulk_create(
        OpeningHours(location=location, weekday=weekday, opens=datetime.time(7), closes=datetime.time(19))
        for location in locations
        for weekday in range(6)
    )
    services = Service.objects.bulk_create(
        Service(name=name, durations=durations, changeover_minutes=changeover, default_price=price, currency="USD")
        for name, durations, changeover, price in sp.SERVICES
    )
    for service in services:
        service.practitioners.set(practitioners)
    hours = []
    for p, user in enumerate(practitioners):
        for weekday in range(6):
            # The pattern of the bench week (Saturday: the first ten only); before it everyone
            # also worked Saturdays, at the other locations.
            monday = sp.PATTERN_CHANGE
            day = monday + datetime.timedelta(days=weekday)
            now_at = sp.workplace(p, day)
            before = sp.workplace(p, day - datetime.timedelta(days=7))
            if now_at is not None:
                hours.append(
                    WorkingHours(
                        practitioner=user,
                        location=locations[now_at[0]],
                        weekday=weekday,
                        start=sp.DAY_START,
                        end=sp.DAY_END,
                    )
                )
            elif before is not None:
                hours.append(
                    WorkingHours(
                        practitioner=user,
                        location=locations[before[0]],
                        weekday=weekday,
                        start=sp.DAY_START,
                        end=sp.DAY_END,
                        valid_until=monday - datetime.timedelta(days=1),
                    )
                )
    WorkingHours.objects.bulk_create(hours)


def _patients(plan: sp.Plan, writer: Writer) -> None:
    ids = scale_rows.Ids.load()
    spans = scale_rows.spans(plan)
    writer.write(Patient, scale_rows.PATIENT_COLUMNS, scale_rows.patients(plan, ids, spans))
    ChartNumberSequence.objects.update_or_create(pk=1, defaults={"next_value": plan.n + 1})
    writer.reset_sequences([Patient])


def _appointments(plan: sp.Plan, writer: Writer) -> None:
    ids = scale_rows.Ids.load()
    writer.write(Appointment, scale_rows.APPOINTMENT_COLUMNS, scale_rows.appointments(plan, ids))
    writer.reset_sequences([Appointment])


def _clinical(plan: sp.Plan, writer: Writer) -> None:
    from effleura.demo import scale_clinical

    scale_clinical.write(plan, scale_rows.Ids.load(), writer)


def _billing(plan: sp.Plan, writer: Writer) -> None:
    from effleura.demo import scale_billing

    scale_billing.write(plan, scale_rows.Ids.load(), writer)


def _referrals(plan: sp.Plan, writer: Writer) -> None:
    from effleura.demo import scale_billing

    scale_billing.write_referrals(plan, scale_rows.Ids.load(), writer)


def _audit(plan: sp.Plan, writer: Writer) -> None:
    from effleura.demo import scale_audit

    writer.write(AuditEvent, scale_audit.COLUMNS, scale_audit.events(plan, scale_rows.Ids.load()))
    writer.reset_sequences([AuditEvent])


STEP_FUNCTIONS = {
    "setup": _setup,
    "patients": _patients,
    "appointments": _appointments,
    "clinical": _clinical,
    "billing": _billing,
    "referrals": _referrals,
    "audit": _audit,
}


# What the benchmarks open ----------------------------------------------------------------------


def bench_targets() -> BenchTargets:
    """The records the page benchmarks open, found in a handful of queries. Raises
    ScaleRefused when no complete bench practice is loaded."""
    from effleura.billing.models import Invoice, Payment
    from effleura.clinical.models import SessionNote

    state = ScaleBuild.objects.order_by("pk").first()
    if state is None or state.finished_at is None:
        raise ScaleRefused("No synthetic benchmark practice is loaded here: run `effleura demo --scale N` first.")
    therapist = User.objects.get(username=THERAPIST)
    location = Location.objects.get(name=BENCH_LOCATION)
    start = timezone.make_aware(datetime.datetime.combine(BENCH_DAY, datetime.time(0)), sp.TZ)
    day = Appointment.objects.filter(
        practitioner=therapist, location=location, start__gte=start, start__lt=start + datetime.timedelta(days=1)
    )
    first = day.order_by("start").first()
    note = SessionNote.objects.get(appointment=first, status="draft")
    patients = Patient.objects.filter(pk__in=day.values("patient_id"))
    chart = (
        patients.annotate(visits=Count("appointments", distinct=True))
        .filter(
            episodes__status="open",
            episodes__plans__goals__isnull=False,
            episodes__notes__status="signed",
            episodes__measurements__isnull=False,
            referrals__isnull=False,
            pk__in=Payment.objects.values("patient_id"),
        )
        .filter(pk__in=Invoice.objects.values("patient_id"))
        .order_by("-visits", "chart_number")
        .first()
    )
    account = (
        patients.filter(pk__in=Payment.objects.values("patient_id"))
        .filter(pk__in=Invoice.objects.values("patient_id"))
        .exclude(pk=chart.pk if chart else None)
        .order_by("chart_number")
        .first()
    ) or chart
    return BenchTargets(
        owner=OWNER,
        therapist=THERAPIST,
        frontdesk=FRONTDESK,
        billing=BILLING,
        location=location.public_id,
        therapist_id=therapist.public_id,
        chart_patient=chart.public_id,
        note=note.public_id,
        account_patient=account.public_id,
        search_hit=scale_rows.SEARCH_HIT,
        search_miss=scale_rows.SEARCH_MISS,
        n=state.n,
    )
