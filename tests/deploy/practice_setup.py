"""The minimal practice the many-machines test works in, written into the test's own
database by this script (run with the servers' environment, after `effleura migrate`):

    python practice_setup.py RACERS LATER PASSWORD

A location in America/Chicago with two rooms, a 60-minute service with 15 minutes'
changeover, the therapist's weekday hours, a front desk who signs in with PASSWORD,
RACERS + LATER synthetic patients with addresses at example.test (so each booking queues
a confirmation email), and one API token of the front desk per booking. Prints JSON:
``race`` (RACERS bodies for the same practitioner and slot), ``later`` (LATER bodies, each
a week apart at the same time), ``tokens`` and ``front_desk``.
"""

import datetime
import json
import sys
import zoneinfo
from decimal import Decimal


def build(racers: int, later: int, password: str) -> dict:
    import django

    django.setup()
    from effleura.core.actions import do_create_api_token
    from effleura.core.choices import Role
    from effleura.core.models import User
    from effleura.patients import actions as patient_actions
    from effleura.scheduling.models import Location, OpeningHours, Room, Service, WorkingHours

    front_desk = User.objects.create_user(
        username="desk", password=password, role=Role.FRONT_DESK, first_name="Front", last_name="Desk"
    )
    therapist = User.objects.create_user(
        username="therapist", role=Role.THERAPIST, first_name="Therapist", last_name="Tester", credentials="LMT"
    )
    location = Location.objects.create(name="Main Street", time_zone="America/Chicago")
    OpeningHours.objects.bulk_create(
        OpeningHours(location=location, weekday=d, opens=datetime.time(8), closes=datetime.time(20)) for d in range(6)
    )
    for name in ("Room 1", "Room 2"):
        Room.objects.create(location=location, name=name)
    service = Service.objects.create(
        name="Clinical massage", durations=[60], default_price=Decimal("95.00"), changeover_minutes=15
    )
    service.practitioners.set([therapist])
    WorkingHours.objects.bulk_create(
        WorkingHours(
            practitioner=therapist, location=location, weekday=d, start=datetime.time(9), end=datetime.time(17)
        )
        for d in range(5)
    )
    people = []
    for n in range(racers + later):
        fields = {
            "legal_first_name": f"Racer{n}",
            "legal_last_name": "Synthetic",
            "date_of_birth": datetime.date(1980, 1, 1),
            "email": f"racer{n}@example.test",
        }
        clean = patient_actions.check_create_patient(front_desk, fields, allow_duplicate=True)
        people.append(patient_actions.do_create_patient(front_desk, clean))
    tz = zoneinfo.ZoneInfo(location.time_zone)
    day = datetime.datetime.now(tz).date() + datetime.timedelta(days=3)
    day += datetime.timedelta(days=(7 - day.weekday()) % 7)  # a Monday, well ahead

    def body(patient, weeks: int) -> dict:
        start = datetime.datetime.combine(day + datetime.timedelta(weeks=weeks), datetime.time(10), tzinfo=tz)
        return {
            "patient": str(patient.public_id),
            "practitioner": str(therapist.public_id),
            "service": str(service.public_id),
            "location": str(location.public_id),
            "start": start.isoformat(),
        }

    return {
        "race": [body(p, 0) for p in people[:racers]],
        "later": [body(p, n + 1) for n, p in enumerate(people[racers:])],
        "tokens": [do_create_api_token(front_desk, f"booking {n}")[1] for n in range(racers + later)],
        "front_desk": front_desk.username,
    }


if __name__ == "__main__":
    print(json.dumps(build(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))
