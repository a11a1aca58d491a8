"""The audit trail of the large synthetic practice (demo/scale.py): about ten events per
visit, as the pages write them (the front desk books and opens the patient, the calendar
is read, the therapist opens the chart, history and record, writes and signs the note,
billing opens the account and takes the payment), with ids increasing in time order as a
real trail grows. Events are gathered per day a few weeks ahead (a booking is made up to
three weeks before the visit) and written sorted, so memory stays bounded.
"""

import datetime

from effleura.demo import scale_billing as billing
from effleura.demo import scale_clinical as clinical
from effleura.demo import scale_plan as sp
from effleura.demo import scale_rows
from effleura.demo.scale_load import dt

COLUMNS = ["id", "public_id", "at", "actor_id", "actor_username", "actor_role", "patient_id", "record_type",
           "record_id", "action", "outcome", "client_address", "detail"]  # fmt: skip
LOOKAHEAD = datetime.timedelta(days=23)
MINUTE = datetime.timedelta(minutes=1)
# The builder writes nothing later than this (the bench day's morning, local time).
HORIZON = sp.utc_naive(sp.BENCH_DAY, datetime.time(7, 0))


def _visit_events(v: sp.Visit, plan: sp.Plan, ids, salts):
    """(at, actor kind, action, record_type, record_id, detail) of one visit."""
    patient = plan.patient_public_id(v.patient)
    appointment = v.public_id
    booked = v.created_at
    yield booked, "desk", "read", "patient", patient, "patient.view"
    yield booked + MINUTE, "desk", "create", "appointment", appointment, "appointment.book"
    if v.day > sp.BENCH_DAY or (v.day == sp.BENCH_DAY and v.status not in ("completed",)):
        return
    start, end = v.start, v.end
    if v.status == "cancelled":
        when = scale_rows.cancelled_when(v)
        yield when - MINUTE, "desk", "read", "appointment", appointment, "schedule.view"
        yield when, "desk", "update", "appointment", appointment, "appointment.change"
        for k in range(6):
            yield when + (k + 1) * MINUTE, "desk", "read", "appointment", appointment, "schedule.view"
        return
    yield start - 25 * MINUTE, "desk", "read", "appointment", appointment, "schedule.view"
    yield start - 12 * MINUTE, "pract", "read", "appointment", appointment, "schedule.view"
    yield start - 10 * MINUTE, "pract", "read", "patient", patient, "patient.view"
    yield start - 9 * MINUTE, "pract", "read", "health_history", patient, "health_history.view"
    yield start - 8 * MINUTE, "pract", "read", "clinical_record", patient, "clinical.view"
    if clinical.has_note(v):
        note = sp.uid(salts["note"], v.id)
        yield end + 5 * MINUTE, "pract", "update", "clinical_record", note, "clinical.write"
        if not clinical.is_draft(v):
            yield clinical.signed_at(v), "pract", "update", "clinical_record", note, "signed"
            if billing.is_invoiced(v):
                invoice = sp.uid(salts["invoice"], v.id)
                yield clinical.signed_at(v) + 10 * MINUTE, "bill", "read", "patient_account", patient, "account.view"
                if billing.is_paid(v):
                    payment = sp.uid(salts["payment"], v.id)
                    yield clinical.signed_at(v) + 12 * MINUTE, "desk", "create", "payment", payment, "payment.take"
                else:
                    yield clinical.signed_at(v) + 12 * MINUTE, "bill", "print", "invoice", invoice, "invoice.print"
    else:
        yield end + 5 * MINUTE, "desk", "update", "appointment", appointment, "appointment.change"
        yield end + 6 * MINUTE, "pract", "read", "clinical_record", patient, "clinical.view"
        yield end + 7 * MINUTE, "desk", "read", "patient", patient, "patient.view"


def events(plan: sp.Plan, ids):
    salts = {name: sp.salt(plan.seed, name) for name in ("note", "invoice", "payment", "audit")}
    actors = {
        "desk": (ids.frontdesk, ids.usernames[ids.frontdesk], "front_desk"),
        "bill": (ids.billing, ids.usernames[ids.billing], "billing"),
    }
    practitioners = [(pk, ids.usernames[pk], "therapist") for pk in ids.practitioners]
    buckets: dict[datetime.date, list] = {}
    state = {"next": 1}

    def flush(before: datetime.date):
        for day in sorted(d for d in buckets if d < before):
            rows = buckets.pop(day)
            rows.sort(key=lambda r: r[0])
            for at, actor, patient, record_type, record_id, action, detail in rows:
                i = state["next"]
                state["next"] = i + 1
                address = f"192.0.2.{10 + actor[0] % 200}"
                yield (i, sp.uid(salts["audit"], i), dt(at), *actor, patient, record_type, record_id, action,
                       "allowed", address, detail)  # fmt: skip

    current = None
    for v in plan.visits():
        if v.day != current:
            if current is not None:
                yield from flush(current - LOOKAHEAD)
            current = v.day
        patient = plan.patient_public_id(v.patient)
        practitioner = practitioners[v.practitioner]
        for at, who, action, record_type, record_id, detail in _visit_events(v, plan, ids, salts):
            if at > HORIZON and v.day != sp.BENCH_DAY:
                continue
            actor = practitioner if who == "pract" else actors[who]
            buckets.setdefault(at.date(), []).append((at, actor, patient, record_type, record_id, action, detail))
    yield from flush(datetime.date.max)
