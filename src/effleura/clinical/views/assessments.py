"""Clinical pages: assessments and the body chart. URL names are listed in
core/permissions.py URL_RULES.

New assessment (for an episode), the assessment, edit the draft, sign, and the episode's
list. The structured findings are short repeatable rows (a few empty ones each time, as
the health history's medications), quick to fill on a tablet; the pain map is the body
chart include, which posts JSON with its script and a plain list without it. Thin: parse,
access_*/check_*, do_*, render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from effleura.clinical import access, assessment_rules, assessments, bodychart, knowledge
from effleura.clinical.access import access_episode
from effleura.clinical.choices import AssessmentKind, RecordStatus
from effleura.clinical.views import versions as row_versions
from effleura.core import versions
from effleura.core.access import allowed
from effleura.core.forms import TOO_LONG, VersionedForm, show_conflict
from effleura.core.permissions import has_permission
from effleura.patients.chart import chart_context
from effleura.patients.choices import BodyRegion
from effleura.patients.forms import DateInput

TAB = "clinical"  # the chart's clinical tab (clinical/views/episodes.py)
BODY_FIELD = "body_marks"
EXTRA_ROWS = {"posture": 3, "rom": 4, "tone": 3, "special_tests": 2}
ROW_PREFIX = {"posture": "posture", "rom": "rom", "tone": "tone", "special_tests": "test"}
# What a conflict notice compares: the form's fields, then the rows and the body chart.
VERSION_FIELDS = ("kind", "assessed_on", *assessment_rules.TEXT_FIELDS)
PARTS = {
    "posture": "Posture",
    "rom": "Range of motion",
    "tone": "Muscle tone and palpation",
    "body_marks": "Body chart",
    "special_tests": "Special tests",
}


# Forms ------------------------------------------------------------------------------------


def _posture_choices():
    return [("", "—"), *((f.key, f.label) for f in knowledge.posture_findings())]


def _movement_choices():
    """Grouped by joint; each option shows the normal range, so it is in sight while typing."""
    groups: dict[str, list] = {}
    for m in knowledge.rom_movements():
        groups.setdefault(m.joint, []).append((m.key, f"{m.label} (normal {assessment_rules.normal_range(m)})"))
    return [("", "—"), *((joint.replace("_", " ").capitalize(), options) for joint, options in groups.items())]


def _tone_choices():
    return [("", "—"), *((f.key, f.label) for f in knowledge.tone_findings())]


def _test_choices():
    groups: dict[str, list] = {}
    for t in knowledge.special_tests():
        groups.setdefault(t.region, []).append((t.key, t.label))
    return [("", "—"), *((region.replace("_", " ").capitalize(), options) for region, options in groups.items())]


SIDES = [("", "—"), ("left", "Left"), ("right", "Right"), ("both", "Both")]
SIDES_LR = [("", "—"), ("left", "Left"), ("right", "Right")]


class AssessmentVersion(VersionedForm):
    """The version of an assessment a page shows (hidden fields only), for signing."""

    loaded_rows = row_versions.RowsField()


class AssessmentForm(AssessmentVersion):
    kind = forms.ChoiceField(choices=AssessmentKind.choices, widget=forms.RadioSelect, label="Kind")
    assessed_on = forms.DateField(widget=DateInput(), label="Date of the assessment")
    palpation = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Palpation, in your words",
        max_length=assessment_rules.TEXT_MAX,
        error_messages=TOO_LONG,
    )
    functional_limitations = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Functional limitations",
        max_length=assessment_rules.TEXT_MAX,
        error_messages=TOO_LONG,
        help_text="What the patient can’t do, or does with pain: e.g. can’t look over the shoulder to reverse.",
    )
    clinical_impression = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Clinical impression",
        max_length=assessment_rules.TEXT_MAX,
        error_messages=TOO_LONG,
        help_text="Needed to sign: what you think is going on, and what treatment should aim at.",
    )


class PostureRow(forms.Form):
    finding = forms.ChoiceField(required=False, choices=_posture_choices, label="Finding")
    side = forms.ChoiceField(required=False, choices=SIDES, label="Side")
    note = forms.CharField(required=False, max_length=assessment_rules.NOTE_MAX, label="Note")


class RomRow(forms.Form):
    movement = forms.ChoiceField(required=False, choices=_movement_choices, label="Joint and movement")
    side = forms.ChoiceField(required=False, choices=SIDES_LR, label="Side")
    degrees = forms.IntegerField(
        required=False, label="Degrees", widget=forms.NumberInput(attrs={"min": 0, "max": 360, "inputmode": "numeric"})
    )
    pain = forms.BooleanField(required=False, label="Painful")


class ToneRow(forms.Form):
    region = forms.ChoiceField(required=False, choices=[("", "—"), *BodyRegion.choices], label="Region")
    finding = forms.ChoiceField(required=False, choices=_tone_choices, label="Finding")
    note = forms.CharField(
        required=False, max_length=assessment_rules.NOTE_MAX, label="Muscle or detail", help_text="e.g. upper trapezius"
    )


class TestRow(forms.Form):
    test = forms.ChoiceField(required=False, choices=_test_choices, label="Test")
    side = forms.ChoiceField(required=False, choices=SIDES, label="Side")
    result = forms.ChoiceField(required=False, choices=[("", "—"), *assessment_rules.RESULTS.items()], label="Result")
    note = forms.CharField(required=False, max_length=assessment_rules.NOTE_MAX, label="Note")


ROW_FORMS = {"posture": PostureRow, "rom": RomRow, "tone": ToneRow, "special_tests": TestRow}


def _formset(field: str, data=None, initial=None):
    factory = forms.formset_factory(ROW_FORMS[field], extra=EXTRA_ROWS[field], max_num=assessment_rules.MAX_ROWS[field])
    return factory(data, initial=initial, prefix=ROW_PREFIX[field])


def _row_initial(field: str, rows: list[dict]) -> list[dict]:
    """Stored rows as the row forms' initial values (ROM by the knowledge base's key)."""
    if field != "rom":
        return [dict(r) for r in rows]
    keys = {(m.joint, m.movement): m.key for m in knowledge.rom_movements()}
    return [{**r, "movement": keys.get((r.get("joint"), r.get("movement")), "")} for r in rows]


def _row_data(field: str, formset) -> list[dict]:
    """Every row with anything in it, as the action takes it: a side or a note on a row
    without a finding must be refused by the action, not silently dropped."""
    rows = [dict(f.cleaned_data) for f in formset if any(v not in (None, "", False) for v in f.cleaned_data.values())]
    if field == "rom":
        movements = {m.key: m for m in knowledge.rom_movements()}
        for row in rows:
            m = movements.get(row.pop("movement"))
            row["joint"], row["movement"] = (m.joint, m.movement) if m else (None, None)
            row["pain"] = bool(row.get("pain"))
    if field == "tone":
        for row in rows:
            row["side"] = ""
    return rows


class Entry:
    """The whole entry page: the main form, the four row sets and the body chart."""

    def __init__(self, data=None, *, initial=None, rows=None, marks=None):
        self.form = AssessmentForm(data, initial=initial)
        rows = rows or {}
        self.rows = {
            f: _formset(f, data, None if data is not None else _row_initial(f, rows.get(f, []))) for f in ROW_FORMS
        }
        self.marks = bodychart.marks_from_post(data, BODY_FIELD) if data is not None else (marks or [])
        self.errors: dict[str, str] = {}

    def is_valid(self) -> bool:
        valid = self.form.is_valid()
        for formset in self.rows.values():
            valid = formset.is_valid() and valid
        return valid

    def data(self) -> dict:
        data = {k: v for k, v in self.form.cleaned_data.items() if k not in AssessmentVersion.base_fields}
        for field, formset in self.rows.items():
            data[field] = _row_data(field, formset)
        data["body_marks"] = self.marks
        return data

    def refuse(self, exc: ValidationError) -> None:
        """Put an action's ValidationError beside the fields it names (or on top)."""
        if not hasattr(exc, "error_dict"):
            self.form.add_error(None, exc)
            return
        for field, errors in exc.error_dict.items():
            if field in self.form.fields:
                self.form.add_error(field, errors)
            else:
                self.errors[field] = " ".join(e for error in errors for e in error.messages)

    def context(self) -> dict:
        return {"form": self.form, "rows": self.rows, "marks": self.marks, "row_errors": self.errors}


def _side(row) -> str:
    side = row.get("side_label") or assessment_rules.SIDE_LABELS.get(row.get("side") or "", "")
    return f" ({side})" if side else ""


def assessment_parts(rows: dict, marks) -> dict[str, str]:
    """An assessment's rows and body chart in words, as a conflict notice compares them.
    ``rows``: field -> rows as stored (or as the form posts them)."""
    posture = assessments.finding_rows(rows.get("posture") or [], "posture")
    tone = assessments.finding_rows(rows.get("tone") or [], "tone")
    tests = assessments.finding_rows(rows.get("special_tests") or [], "special_tests")
    rom = assessments.rom_rows(rows.get("rom") or [])
    note = lambda r: f": {r['note']}" if r.get("note") else ""  # noqa: E731
    return {
        "posture": "; ".join(f"{r['label']}{_side(r)}{note(r)}" for r in posture) or "—",
        "rom": "; ".join(
            f"{r.label}{f' ({r.side})' if r.side else ''} {r.degrees}°{', painful' if r.pain else ''}" for r in rom
        )
        or "—",
        "tone": "; ".join(f"{r['region_label']}: {r['label']}{note(r)}" for r in tone) or "—",
        "body_marks": row_versions.marks_text(marks),
        "special_tests": "; ".join(f"{r['label']}{_side(r)}: {r['result_label']}{note(r)}" for r in tests) or "—",
    }


def _stored_parts(found) -> dict[str, str]:
    return assessment_parts({f: getattr(found, f) for f in ROW_FORMS}, found.body_marks)


def load_assessment_version(form, found) -> None:
    form.load_version(found, [n for n in VERSION_FIELDS if n in form.fields], what="assessment")
    if not form.is_bound:
        form.initial[row_versions.FIELD] = row_versions.sign(_stored_parts(found))


def assessment_conflict(form, exc: versions.StaleVersion, posted: dict | None = None) -> set[str]:
    """The notice for a save or signature refused because the assessment was saved since
    the page was loaded; returns the parts to show as stored now."""
    show_conflict(form, exc, [n for n in VERSION_FIELDS if n in form.fields])
    now = _stored_parts(exc.current)
    changes, rebase = row_versions.row_changes(form.data.get(row_versions.FIELD), now, posted or {}, PARTS)
    form.conflict.changes.extend(changes)
    row_versions.rebind(form, now)
    return rebase


# Pages ------------------------------------------------------------------------------------


def _context(request, episode, **extra) -> dict:
    context = chart_context(request, episode.patient, TAB)
    context.update({"episode": episode, "body_field": BODY_FIELD, **extra})
    return context


def episode_assessments(request, episode_id):
    episode, found = access.access_episode_assessments(request.user, episode_id)
    return render(request, "clinical/assessments.html", _context(request, episode, assessments=found))


def assessment_new(request, episode_id):
    episode = access_episode(request.user, episode_id, key="clinical.write")
    if request.method == "POST":
        entry = Entry(request.POST)
        if entry.is_valid():
            try:
                clean = assessments.check_create_assessment(request.user, episode, entry.data())
            except ValidationError as exc:
                entry.refuse(exc)
            else:
                saved = assessments.do_create_assessment(request.user, episode, clean)
                messages.success(request, "Assessment saved as a draft. Sign it when it is complete.")
                return redirect("clinical:assessment", assessment_id=saved.public_id)
    else:
        # A re-assessment measures the same movements again: start from the last signed
        # assessment's range-of-motion rows, degrees blank (never carry an old reading).
        latest = assessments.latest_assessment(episode)
        has_any = latest is not None or episode.assessments.exists()
        rom = [{**r, "degrees": None, "pain": False} for r in latest.rom] if latest else []
        entry = Entry(
            initial={
                "kind": AssessmentKind.REPEAT if has_any else AssessmentKind.INITIAL,
                "assessed_on": timezone.localdate(),
            },
            rows={"rom": rom},
        )
    return render(request, "clinical/assessment_form.html", _context(request, episode, **entry.context()))


def assessment(request, assessment_id):
    found = access.access_assessment(request.user, assessment_id)
    previous = assessments.previous_assessment(found) if found.kind == AssessmentKind.REPEAT else None
    context = _context(
        request,
        found.episode,
        assessment=found,
        previous=previous,
        **_reading(found, previous),
        is_author=found.author_id == request.user.pk,
        can_write=has_permission(request.user, "clinical.write"),
    )
    return render(request, "clinical/assessment.html", context)


def _reading(found, previous=None) -> dict:
    return {
        "rom_rows": assessments.rom_rows(found.rom, previous.rom if previous else None),
        "posture_rows": assessments.finding_rows(found.posture, "posture"),
        "tone_rows": assessments.finding_rows(found.tone, "tone"),
        "test_rows": assessments.finding_rows(found.special_tests, "special_tests"),
    }


def _refused(request, found, exc: ValidationError):
    messages.error(request, " ".join(exc.messages))
    return redirect("clinical:assessment", assessment_id=found.public_id)


def assessment_edit(request, assessment_id):
    found = access.access_assessment(request.user, assessment_id, key="clinical.write", audit_it=False)
    try:
        # The author's draft, or refused (403 for someone else's, a message when signed),
        # before anything posted is even read.
        assessments.check_update_assessment(request.user, found, {})
    except ValidationError as exc:
        return _refused(request, found, exc)
    if request.method == "POST":
        entry = Entry(request.POST)
        load_assessment_version(entry.form, found)
        if entry.is_valid():
            data = entry.data()
            try:
                expected = entry.form.expected_version()
                clean = assessments.check_update_assessment(request.user, found, data)
                assessments.do_update_assessment(request.user, found, clean, expected_version=expected)
            except versions.StaleVersion as exc:
                posted = assessment_parts(data, bodychart.displayable(data["body_marks"]))
                for part in assessment_conflict(entry.form, exc, posted):
                    if part == "body_marks":
                        entry.marks = exc.current.body_marks
                    else:
                        entry.rows[part] = _formset(part, None, _row_initial(part, getattr(exc.current, part)))
            except ValidationError as exc:
                entry.refuse(exc)
            else:
                messages.success(request, "Draft saved.")
                return redirect("clinical:assessment", assessment_id=found.public_id)
    else:
        allowed(request.user, "clinical.view", patient_id=found.episode.patient.public_id, record_id=found.public_id)
        entry = Entry(
            initial={name: getattr(found, name) for name in ("kind", "assessed_on", *assessment_rules.TEXT_FIELDS)},
            rows={f: getattr(found, f) for f in ROW_FORMS},
            marks=found.body_marks,
        )
        load_assessment_version(entry.form, found)
    context = _context(request, found.episode, assessment=found, **entry.context())
    return render(request, "clinical/assessment_form.html", context, status=409 if entry.form.conflict else 200)


def assessment_sign(request, assessment_id):
    found = access.access_assessment(request.user, assessment_id, key="clinical.write", audit_it=False)
    try:
        assessments.check_sign_assessment(request.user, found)
    except ValidationError as exc:
        if found.status == RecordStatus.DRAFT and hasattr(exc, "error_dict"):
            messages.error(request, " ".join(exc.messages))
            return redirect("clinical:assessment_edit", assessment_id=found.public_id)
        return _refused(request, found, exc)
    form = AssessmentVersion(request.POST if request.method == "POST" else None)
    load_assessment_version(form, found)
    if request.method == "POST":
        form.is_valid()
        try:
            assessments.do_sign_assessment(request.user, found, expected_version=form.expected_version())
        except versions.StaleVersion as exc:
            # The signer has not read what was saved since: show it, with the button again.
            assessment_conflict(form, exc)
            found = exc.current
        except ValidationError as exc:
            return _refused(request, found, exc)
        else:
            messages.success(request, "Assessment signed. It is now locked; later findings go in a re-assessment.")
            return redirect("clinical:assessment", assessment_id=found.public_id)
    allowed(request.user, "clinical.view", patient_id=found.episode.patient.public_id, record_id=found.public_id)
    context = _context(request, found.episode, assessment=found, form=form, **_reading(found))
    return render(request, "clinical/assessment_sign.html", context, status=409 if form.conflict else 200)


urlpatterns = [
    path("episodes/<uuid:episode_id>/assessments/", episode_assessments, name="assessments"),
    path("episodes/<uuid:episode_id>/assessments/new/", assessment_new, name="assessment_new"),
    path("assessments/<uuid:assessment_id>/", assessment, name="assessment"),
    path("assessments/<uuid:assessment_id>/edit/", assessment_edit, name="assessment_edit"),
    path("assessments/<uuid:assessment_id>/sign/", assessment_sign, name="assessment_sign"),
]
