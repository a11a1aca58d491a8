"""Rows of the large synthetic practice: patients and appointments (demo/scale.py).

Every row is made as the actions make it: a patient's phone_digits from its phone, an
appointment's end and busy_until from its service, cancellation and session fields that
agree with its status.
"""

import datetime
import random
from array import array
from dataclasses import dataclass

from effleura.core.models import User
from effleura.demo import data as demo_data
from effleura.demo import scale_plan as sp
from effleura.demo.scale_load import dt
from effleura.patients.models import digits_only
from effleura.scheduling.models import Location, Room, Service

# A family name that only a dozen patients share whatever N (the search benchmark's hit),
# and a word no patient's name, chart number or phone contains (its miss).
SEARCH_HIT = "Thistlewood"
SEARCH_HIT_PATIENTS = 12
SEARCH_MISS = "Zqxvbenchnomatch"
LABEL = "Synthetic benchmark data."

PRACTITIONER_FIRST = demo_data.FEMALE_FIRST + demo_data.MALE_FIRST + demo_data.NEUTRAL_FIRST


def practitioner_name(p: int) -> tuple[str, str]:
    return PRACTITIONER_FIRST[p % len(PRACTITIONER_FIRST)], f"{demo_data.LAST_NAMES[p % len(demo_data.LAST_NAMES)]}"


def room_name(r: int) -> str:
    return f"Room {r + 1:02d}"


@dataclass(frozen=True)
class Ids:
    """Primary keys of the set-up rows (written by the ORM in the setup step)."""

    practitioners: list[int]
    owner: int
    frontdesk: int
    billing: int
    usernames: dict[int, str]
    locations: list[int]
    rooms: dict[tuple[int, int], int]
    services: list[int]

    @classmethod
    def load(cls) -> "Ids":
        from effleura.demo.scale import BILLING, FRONTDESK, OWNER, practitioner_username

        users = dict(User.objects.filter(is_demo=True).values_list("username", "pk"))
        locations = [Location.objects.get(name=name).pk for name, _rooms in sp.LOCATIONS]
        index = {pk: i for i, pk in enumerate(locations)}
        rooms = {
            (index[location], int(name.split()[-1]) - 1): pk
            for pk, location, name in Room.objects.values_list("pk", "location_id", "name")
        }
        services = [Service.objects.get(name=name).pk for name, *_rest in sp.SERVICES]
        return cls(
            practitioners=[users[practitioner_username(p)] for p in range(sp.PRACTITIONERS)],
            owner=users[OWNER],
            frontdesk=users[FRONTDESK],
            billing=users[BILLING],
            usernames={pk: name for name, pk in users.items()},
            locations=locations,
            rooms=rooms,
            services=services,
        )


@dataclass
class Spans:
    """Each patient's first and last visit day (days after HISTORY_START) and visit count."""

    first: array
    last: array
    count: array


def spans(plan: sp.Plan) -> Spans:
    first = array("i", [-1]) * plan.n
    last = array("i", [-1]) * plan.n
    count = array("i", [0]) * plan.n
    for v in plan.visits():
        offset = (v.day - sp.HISTORY_START).days
        j = v.patient
        if first[j] < 0:
            first[j] = offset
        last[j] = offset
        count[j] += 1
    return Spans(first, last, count)


def day_of(offset: int) -> datetime.date:
    return sp.HISTORY_START + datetime.timedelta(days=offset)


PATIENT_COLUMNS = [
    "id", "public_id", "version", "chart_number", "legal_first_name", "legal_last_name", "preferred_name",
    "pronouns", "date_of_birth", "sex_at_birth", "gender_identity", "phone", "phone_digits", "email",
    "address_line1", "address_line2", "city", "region", "postal_code", "country", "preferred_contact",
    "emergency_contact_name", "emergency_contact_relationship", "emergency_contact_phone", "notes", "status",
    "status_since", "created_at", "updated_at", "is_demo",
]  # fmt: skip


def patients(plan: sp.Plan, ids: Ids, spans: Spans):
    rng = random.Random(f"{plan.seed}:{plan.n}:patients")
    hit_every = max(1, plan.n // SEARCH_HIT_PATIENTS)
    female, male, neutral = demo_data.FEMALE_FIRST, demo_data.MALE_FIRST, demo_data.NEUTRAL_FIRST
    last_names = demo_data.LAST_NAMES
    streets = demo_data.STREETS
    relationships = ["partner", "spouse", "parent", "friend", "sibling"]
    two_years_ago = (sp.BENCH_DAY - sp.HISTORY_START).days - 730
    for j in range(plan.n):
        sex = "female" if rng.random() < 0.6 else "male"
        is_neutral = rng.random() < 0.05
        pool = neutral if is_neutral else (female if sex == "female" else male)
        first = pool[rng.randrange(len(pool))]
        last = SEARCH_HIT if j % hit_every == 7 % hit_every and j // hit_every < SEARCH_HIT_PATIENTS else None
        last = last or last_names[rng.randrange(len(last_names))]
        dob = datetime.date(sp.BENCH_DAY.year - rng.randint(18, 85), rng.randint(1, 12), rng.randint(1, 28))
        phone = f"(213) 555-01{j % 100:02d}"
        # Registered before their first visit was booked (at most three weeks ahead).
        first_visit = spans.first[j] if spans.first[j] >= 0 else 0
        last_visit = spans.last[j]
        registered = sp.utc_naive(day_of(first_visit), datetime.time(7)) - datetime.timedelta(
            days=rng.randint(22, 35), minutes=rng.randint(0, 600)
        )
        status, since = "active", registered.date()
        if 0 <= last_visit < two_years_ago:
            status = "inactive" if j % 3 else "discharged"
            since = day_of(last_visit + 30)
        yield (
            j + 1,
            plan.patient_public_id(j),
            1,
            f"EF{j + 1:05d}",
            first,
            last,
            "",
            "they/them" if is_neutral else ("she/her" if sex == "female" else "he/him"),
            dob.isoformat(),
            sex,
            "Non-binary" if is_neutral else "",
            phone,
            digits_only(phone),
            f"{first}.{last}.{j + 1}@example.com".lower(),
            f"{10 + j % 980} {streets[j % len(streets)]}",
            "",
            "Anytown",
            "CA",
            "90000",
            "United States",
            ("phone", "text", "email")[j % 3],
            f"{pool[(j + 3) % len(pool)]} {last}",
            relationships[j % len(relationships)],
            f"(213) 555-01{(j * 7 + 3) % 100:02d}",
            LABEL,
            status,
            since.isoformat(),
            dt(registered),
            dt(registered),
            1,
        )


APPOINTMENT_COLUMNS = [
    "id", "public_id", "patient_id", "practitioner_id", "service_id", "location_id", "room_id",
    "duration_minutes", "start", "end", "busy_until", "status", "series_id", "notes", "created_at",
    "created_by_id", "cancelled_at", "cancelled_by_id", "cancel_reason", "late_cancel", "interrupted_reason",
    "minutes_delivered", "session_started_at",
]  # fmt: skip

SESSION_STATUSES = {"in_session", "completed", "interrupted"}
HOUR = datetime.timedelta(hours=1)
LATE_CANCEL = datetime.timedelta(hours=24)  # SchedulingPolicy's default late_cancel_hours


def cancelled_when(v: sp.Visit) -> datetime.datetime:
    """When a cancelled visit was cancelled: from two hours to four days before, after booking."""
    return max(v.start - datetime.timedelta(hours=2 + (v.id * 7919) % 96), v.created_at + HOUR)


def appointments(plan: sp.Plan, ids: Ids):
    practitioners, services = ids.practitioners, ids.services
    locations, rooms = ids.locations, ids.rooms
    for v in plan.visits():
        start = v.start
        end = v.end
        cancelled_at = cancelled_by = None
        cancel_reason = interrupted_reason = ""
        late = 0
        minutes = None
        if v.status == "cancelled":
            when = cancelled_when(v)
            cancelled_at, cancelled_by = dt(when), ids.frontdesk
            cancel_reason = "Patient called to cancel."
            late = 1 if start - when < LATE_CANCEL else 0
        elif v.status == "interrupted":
            interrupted_reason = "Patient felt unwell; session stopped early."
            minutes = v.duration // 2
        yield (
            v.id,
            v.public_id,
            v.patient + 1,
            practitioners[v.practitioner],
            services[v.service],
            locations[v.location],
            rooms[(v.location, v.room)],
            v.duration,
            dt(start),
            dt(end),
            dt(v.busy_until),
            v.status,
            None,
            "",
            dt(v.created_at),
            practitioners[v.practitioner] if v.id % 5 == 0 else ids.frontdesk,
            cancelled_at,
            cancelled_by,
            cancel_reason,
            late,
            interrupted_reason,
            minutes,
            dt(start) if v.status in SESSION_STATUSES else None,
        )
