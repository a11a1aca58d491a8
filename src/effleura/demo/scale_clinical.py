"""The clinical record of the large synthetic practice (demo/scale.py): per patient one
episode of care (open when they were seen in the last 90 days or are booked, else
discharged), its treatment plan with two goals, a signed SOAP note with two techniques
for every completed visit (one draft: bench-therapist's first visit on the bench day, for
the note editor), and an NPRS measurement at the first completed visit and every fourth.

Keys follow the visits so that no step needs another's ids read back: episode, plan =
patient id; goals 2·plan - 1 and 2·plan; note, measurement = appointment id; techniques
2·note - 1 and 2·note.
"""

import datetime
import json

from effleura.clinical.models import (
    Discharge,
    Episode,
    Goal,
    OutcomeMeasurement,
    SessionNote,
    TechniqueEntry,
    TreatmentPlan,
)
from effleura.demo import scale_plan as sp
from effleura.demo import scale_rows
from effleura.demo.scale_load import dt

OPEN_WITHIN_DAYS = 90
# title, diagnosis codes, second technique, regions
COMPLAINTS = (
    ("Low back pain", ["M54.50"], "myofascial_release", ["low_back", "glutes"]),
    ("Neck and shoulder tension", ["M54.2"], "trigger_point", ["neck", "upper_back"]),
    ("Upper back pain from desk work", ["M54.6"], "deep_tissue", ["upper_back", "mid_back"]),
    ("Muscle spasm of the back", ["M62.830"], "neuromuscular", ["low_back", "mid_back"]),
    ("Hip and buttock tightness", ["M62.838"], "deep_tissue", ["glutes", "hip_l", "hip_r"]),
)
EMPTY_LIST = "[]"
EMPTY_OBJECT = "{}"


def is_draft(v: sp.Visit) -> bool:
    """The note the note-editor benchmark opens: still a draft."""
    return v.day == sp.BENCH_DAY and v.practitioner == 0 and v.bench_rank == 0


def has_note(v: sp.Visit) -> bool:
    return v.status == "completed"


def signed_at(v: sp.Visit) -> datetime.datetime:
    return v.end + datetime.timedelta(minutes=20)


def is_open(spans, j: int) -> bool:
    return spans.last[j] >= (sp.BENCH_DAY - sp.HISTORY_START).days - OPEN_WITHIN_DAYS


def write(plan: sp.Plan, ids, writer) -> None:
    spans = scale_rows.spans(plan)
    writer.write(Episode, EPISODE_COLUMNS, _episodes(plan, ids, spans))
    writer.write(Discharge, DISCHARGE_COLUMNS, _discharges(plan, ids, spans))
    writer.write(TreatmentPlan, PLAN_COLUMNS, _plans(plan, ids, spans))
    writer.write(Goal, GOAL_COLUMNS, _goals(plan, spans))
    writer.write(SessionNote, NOTE_COLUMNS, _notes(plan, ids, spans))
    writer.write(TechniqueEntry, TECHNIQUE_COLUMNS, _techniques(plan))
    writer.write(OutcomeMeasurement, MEASUREMENT_COLUMNS, _measurements(plan, ids))
    writer.reset_sequences([Episode, Discharge, TreatmentPlan, Goal, SessionNote, TechniqueEntry, OutcomeMeasurement])


EPISODE_COLUMNS = ["id", "public_id", "patient_id", "title", "therapist_id", "status", "opened_on", "created_at",
                   "created_by_id"]  # fmt: skip


def _seen(plan, spans):
    for j in range(plan.n):
        if spans.first[j] >= 0:
            yield j


def _opened(spans, j) -> datetime.date:
    return scale_rows.day_of(spans.first[j])


def _episodes(plan, ids, spans):
    salt = sp.salt(plan.seed, "episode")
    for j in _seen(plan, spans):
        therapist = ids.practitioners[j % sp.PRACTITIONERS]
        opened = _opened(spans, j)
        yield (
            j + 1,
            sp.uid(salt, j + 1),
            j + 1,
            COMPLAINTS[j % len(COMPLAINTS)][0],
            therapist,
            "open" if is_open(spans, j) else "discharged",
            opened.isoformat(),
            dt(sp.utc_naive(opened, datetime.time(7, 30))),
            therapist,
        )


DISCHARGE_COLUMNS = ["id", "public_id", "episode_id", "discharged_on", "reason", "summary", "outcomes", "goals",
                     "cancelled_appointments", "discharged_by_id", "created_at"]  # fmt: skip


def _discharges(plan, ids, spans):
    salt = sp.salt(plan.seed, "discharge")
    for j in _seen(plan, spans):
        if is_open(spans, j):
            continue
        day = scale_rows.day_of(spans.last[j])
        goals = json.dumps([{"goal": "Pain at most 3/10", "status": "met"}])
        yield (
            j + 1,
            sp.uid(salt, j + 1),
            j + 1,
            day.isoformat(),
            "goals_met" if j % 4 else "patient_choice",
            scale_rows.LABEL,
            EMPTY_LIST,
            goals,
            0,
            ids.practitioners[j % sp.PRACTITIONERS],
            dt(sp.utc_naive(day, datetime.time(18, 30))),
        )


PLAN_COLUMNS = ["id", "public_id", "version", "episode_id", "status", "diagnosis_codes", "techniques", "modalities",
                "pressure_min", "pressure_max", "sessions_per_week", "weeks", "session_minutes", "home_care_summary",
                "reassess_on", "series_id", "created_at", "created_by_id"]  # fmt: skip


def _plans(plan, ids, spans):
    salt = sp.salt(plan.seed, "plan")
    for j in _seen(plan, spans):
        _title, codes, second, _regions = COMPLAINTS[j % len(COMPLAINTS)]
        opened = _opened(spans, j)
        yield (
            j + 1,
            sp.uid(salt, j + 1),
            1,
            j + 1,
            "active" if is_open(spans, j) else "closed",
            json.dumps(codes),
            json.dumps(["swedish", second]),
            json.dumps(["heat"]),
            "moderate",
            "firm",
            1,
            12,
            sp.SERVICES[j % len(sp.SERVICES)][1][0],
            "Stretch daily; heat before activity.",
            (opened + datetime.timedelta(weeks=6)).isoformat(),
            None,
            dt(sp.utc_naive(opened, datetime.time(7, 45))),
            ids.practitioners[j % sp.PRACTITIONERS],
        )


GOAL_COLUMNS = ["id", "public_id", "version", "plan_id", "description", "measure", "baseline", "target", "direction",
                "target_date", "status"]  # fmt: skip


def _goals(plan, spans):
    salt = sp.salt(plan.seed, "goal")
    for j in _seen(plan, spans):
        open_ = is_open(spans, j)
        target = (_opened(spans, j) + datetime.timedelta(weeks=12)).isoformat()
        pid = j + 1
        yield (2 * pid - 1, sp.uid(salt, 2 * pid - 1), 1, pid, "Pain at most 3/10", "nprs", 7.0, 3.0, "decrease",
               target, "in_progress" if open_ else "met")  # fmt: skip
        yield (2 * pid, sp.uid(salt, 2 * pid), 1, pid, "Back to usual activities without pain", "", None, None,
               "increase", target, "in_progress" if open_ else "met")  # fmt: skip


def pain_at(visit_number: int) -> int:
    """Pain now at the patient's n-th completed visit (0-based): 7, easing to 2."""
    return max(2, 7 - visit_number // 2)


NOTE_COLUMNS = ["id", "public_id", "version", "episode_id", "appointment_id", "author_id", "session_date", "status",
                "subjective", "pain_now", "objective", "body_marks", "assessment", "plan", "home_care_given",
                "overrides", "started_from", "typed", "total_minutes", "created_at", "updated_at",
                "signed_at"]  # fmt: skip


def _notes(plan, ids, spans):
    salt = sp.salt(plan.seed, "note")
    done = {}
    for v in plan.visits():
        if not has_note(v):
            continue
        k = done.get(v.patient, 0)
        done[v.patient] = k + 1
        pain = pain_at(k)
        title, _codes, _second, _regions = COMPLAINTS[v.patient % len(COMPLAINTS)]
        draft = is_draft(v)
        signed = None if draft else dt(signed_at(v))
        yield (
            v.id,
            sp.uid(salt, v.id),
            1 if draft else 2,
            v.patient + 1,
            v.id,
            ids.practitioners[v.practitioner],
            v.day.isoformat(),
            "draft" if draft else "signed",
            f"{title}: pain {pain}/10 today. {scale_rows.LABEL}",
            pain,
            "Hypertonic tissue in the treated regions; range of motion improving.",
            EMPTY_LIST,
            "Tolerated treatment well; responding as planned.",
            "Continue weekly sessions; review at the next visit.",
            "Gentle stretching twice a day.",
            EMPTY_LIST,
            EMPTY_OBJECT,
            EMPTY_OBJECT,  # typed: nothing kept unchecked
            v.duration,
            dt(v.end),
            signed or dt(v.end),
            signed,
        )


TECHNIQUE_COLUMNS = ["id", "note_id", "technique", "minutes", "regions", "pressure", "position", "notes"]


def _techniques(plan):
    for v in plan.visits():
        if not has_note(v):
            continue
        _title, _codes, second, regions = COMPLAINTS[v.patient % len(COMPLAINTS)]
        second_minutes = v.duration // 3
        yield (2 * v.id - 1, v.id, "swedish", v.duration - second_minutes, json.dumps(regions), "moderate", "prone", "")
        yield (2 * v.id, v.id, second, second_minutes, json.dumps(regions[:1]), "firm", "prone", "")


MEASUREMENT_COLUMNS = ["id", "public_id", "episode_id", "measure", "answers", "labels", "score", "unit", "band",
                       "taken_on", "recorded_by_id", "note_id", "created_at"]  # fmt: skip


def _measurements(plan, ids):
    salt = sp.salt(plan.seed, "measurement")
    done = {}
    for v in plan.visits():
        if not has_note(v):
            continue
        k = done.get(v.patient, 0)
        done[v.patient] = k + 1
        if k % 4:
            continue
        pain = pain_at(k)
        yield (
            v.id,
            sp.uid(salt, v.id),
            v.patient + 1,
            "nprs",
            f"[{pain}]",
            EMPTY_LIST,
            float(pain),
            "/10",
            "",
            v.day.isoformat(),
            ids.practitioners[v.practitioner],
            v.id,
            dt(v.start + datetime.timedelta(minutes=5)),
        )
