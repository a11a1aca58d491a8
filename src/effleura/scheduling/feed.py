"""A practitioner's private calendar subscription (iCalendar, RFC 5545).

Each practitioner may have one live feed: a secret address that a calendar app (phone,
Outlook, Google) polls to show their appointments. The secret is the key in the address;
only its hash is stored (as for API tokens), it is shown once when the feed is made, and
the practitioner can revoke it, or make a new one, which revokes the old.

A feed holds the practitioner's appointments from 30 days back to 180 days ahead. Each is
one VEVENT with no health details: the patient's initials and the service ("A.R. ·
Clinical massage"), the location and room, the time in UTC, and CONFIRMED or CANCELLED.
Each fetch writes one audit event (record type "calendar_feed", actor the practitioner).

https://www.rfc-editor.org/rfc/rfc5545 (iCalendar); REFRESH-INTERVAL is RFC 7986 §5.7.
"""

import datetime
import secrets

import icalendar
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from effleura.core import audit, permissions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.models import hash_token
from effleura.core.values import as_uuid
from effleura.scheduling.choices import AppointmentStatus
from effleura.scheduling.models import Appointment, CalendarFeed

KEY_PREFIX = "effcal_"
PAST = datetime.timedelta(days=30)
AHEAD = datetime.timedelta(days=180)
UID_DOMAIN = "effleura"
PRODID = "-//Effleura//Practice calendar//EN"


# The calendar (no database) ----------------------------------------------------------------


def initials(patient) -> str:
    """ "A.R." from the name the practice calls them by; nothing more of the patient."""
    first = (patient.preferred_name or patient.legal_first_name or "").strip()
    last = (patient.legal_last_name or "").strip()
    return "".join(f"{name[0].upper()}." for name in (first, last) if name)


def summary(appointment: Appointment) -> str:
    return f"{initials(appointment.patient)} · {appointment.service.name}"


def place(appointment: Appointment) -> str:
    room = appointment.room
    return f"{appointment.location.name} · {room.name}" if room is not None else appointment.location.name


def build_calendar(practitioner, appointments, *, now: datetime.datetime) -> bytes:
    """The feed's bytes. ``appointments`` come with patient, service, location and room
    loaded; each becomes one VEVENT."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Effleura: {practitioner.get_full_name() or practitioner.username}")
    # Ask calendar apps to poll hourly (most apps choose for themselves anyway).
    calendar.add("refresh-interval", datetime.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    stamp = now.astimezone(datetime.UTC)
    for appointment in appointments:
        event = icalendar.Event()
        event.add("uid", f"{appointment.public_id}@{UID_DOMAIN}")
        event.add("dtstamp", stamp)
        event.add("dtstart", appointment.start.astimezone(datetime.UTC))
        event.add("dtend", appointment.end.astimezone(datetime.UTC))
        event.add("summary", summary(appointment))
        event.add("location", place(appointment))
        cancelled = appointment.status == AppointmentStatus.CANCELLED
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        # A cancelled visit frees the time; the others block it.
        event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


# Reading a feed (public: the key authenticates) -------------------------------------------


def feed_appointments(practitioner, now: datetime.datetime):
    return (
        Appointment.objects.filter(practitioner=practitioner, start__gte=now - PAST, start__lt=now + AHEAD)
        .select_related("patient", "service", "location", "room")
        .order_by("start", "id")
    )


# Managing feeds -----------------------------------------------------------------------------


def practitioner_feeds(user) -> list[CalendarFeed]:
    authorize(user, "calendar_feed.manage")
    return list(CalendarFeed.objects.filter(practitioner=user).order_by("-created_at")[:20])


def check_create_feed(actor) -> None:
    """May ``actor`` have a calendar feed of their own? Needs calendar_feed.manage
    (PermissionDenied otherwise); nothing else to validate. Returns None; then call
    do_create_feed(), which revokes any live one."""
    authorize(actor, "calendar_feed.manage")


def do_create_feed(actor) -> tuple[CalendarFeed, str]:
    """A new feed for ``actor``; any live one is revoked. Returns it and the raw key, which
    is shown once and never stored."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        for old in CalendarFeed.objects.select_for_update().filter(practitioner=actor, revoked_at__isnull=True):
            CalendarFeed.objects.filter(pk=old.pk).update(revoked_at=now)
            audit.record(actor, AuditAction.UPDATE, "calendar_feed", record_id=old.public_id, detail="feed replaced")
        feed = CalendarFeed.objects.create(
            practitioner=actor, key_hash=hash_token(raw), hint=raw[len(KEY_PREFIX) :][:6], created_at=now
        )
        audit.record(actor, AuditAction.CREATE, "calendar_feed", record_id=feed.public_id, detail="feed created")
    return feed, raw


def check_revoke_feed(actor, feed_id) -> CalendarFeed:
    """A practitioner revokes their own feed; an owner may revoke anyone's (a leaver's)."""
    authorize(actor, "calendar_feed.manage", record_id=feed_id)
    feed = CalendarFeed.objects.filter(public_id=as_uuid(feed_id, "calendar feed")).first()
    if feed is None:
        raise Http404("No such calendar feed.")
    if feed.practitioner_id != actor.pk and not permissions.has_permission(actor, "staff.manage"):
        raise PermissionDenied("You can only revoke your own calendar feed.")
    if feed.revoked_at is not None:
        raise ValidationError("This feed was already revoked.")
    return feed


def do_revoke_feed(actor, feed: CalendarFeed) -> None:
    """Revoke ``feed``, the CalendarFeed check_revoke_feed() returned (call it first). In one
    transaction: stamps revoked_at now only if it is still live (a conditional update, no
    row lock) and audits "feed revoked". Returns None."""
    with transaction.atomic():
        CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit.record(actor, AuditAction.UPDATE, "calendar_feed", record_id=feed.public_id, detail="feed revoked")
