"""Clinical pages: session notes (SOAP) and note templates. URL names are listed in
core/permissions.py URL_RULES.

Thin: parse, access_*/check_*, do_*, render; the rules are in clinical/notes.py.
"""

import dataclasses
import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST

from effleura.clinical import access, bodychart, knowledge, note_rules, notes, screening
from effleura.clinical.access import access_episode, appointment_note
from effleura.clinical.choices import ClientPosition, Pressure, RecordStatus
from effleura.clinical.models import NoteTemplate
from effleura.clinical.note_templates import check_save_template, do_save_template, templates_for
from effleura.clinical.plans import current_plan
from effleura.clinical.views import versions as row_versions
from effleura.core import clock, versions
from effleura.core.access import allowed, authorize
from effleura.core.forms import TOO_LONG, Change, VersionedForm, show_conflict, signed_snapshot
from effleura.patients.chart import chart_context
from effleura.patients.choices import BodyRegion
from effleura.scheduling import access as scheduling_access
from effleura.scheduling.models import Service

TAB = "notes"
BLANK_ROWS = 2
MIN_ROWS = 3
# What a conflict notice compares: the form's fields, then the rows and the body chart.
NOTE_FIELDS = ("session_date", "pain_now", *note_rules.TEXT_FIELDS)
NOTE_PARTS = {"techniques": "Techniques", "body_marks": "Body chart"}
TEMPLATE_FIELDS = ("service", "name", "subjective", "objective", "assessment", "plan", "is_active")
TEMPLATE_PARTS = {"techniques": "Techniques"}


# Forms ------------------------------------------------------------------------------------


def _textarea(label, hint="", rows=3):
    return forms.CharField(
        label=label,
        required=False,
        help_text=hint,
        widget=forms.Textarea(attrs={"rows": rows}),
        max_length=note_rules.TEXT_MAX,  # the action's limit: the counter counts down to it
        error_messages=TOO_LONG,
    )


class NoteVersion(VersionedForm):
    """The version of a note a page shows (hidden fields only), for the buttons that
    write it without editing it: sign, discard."""

    loaded_rows = row_versions.RowsField()


class NoteForm(NoteVersion):
    """The note's own fields; the technique rows and the body chart are parsed apart."""

    session_date = forms.DateField(label="Session date", widget=forms.DateInput(attrs={"type": "date"}))
    subjective = _textarea("Symptoms and changes since the last visit", "What the patient reports today.")
    pain_now = forms.IntegerField(
        label="Pain now (0–10)",
        required=False,
        min_value=0,
        max_value=10,
        help_text="0 = no pain, 10 = worst imaginable.",
    )
    objective = _textarea("Findings", "What you observed and palpated; mark regions on the body chart below.")
    assessment = _textarea("Response to treatment and progress toward the goals")
    plan = _textarea("Next steps")
    home_care_given = _textarea("Home care given", rows=2)

    def __init__(self, *args, fixed_date: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_date:
            self.fields["session_date"].disabled = True
            self.fields["session_date"].help_text = "The appointment's date."


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 3}), max_length=note_rules.TEXT_MAX)


class TemplateForm(VersionedForm):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), to_field_name="public_id", empty_label="Choose a service"
    )
    name = forms.CharField(max_length=note_rules.TEMPLATE_NAME_MAX, help_text="E.g. 'Bedside 15 minutes'.")
    subjective = _textarea("S: starting text")
    objective = _textarea("O: starting text")
    assessment = _textarea("A: starting text")
    plan = _textarea("P: starting text")
    is_active = forms.BooleanField(label="In use (offered when a note starts)", required=False, initial=True)
    loaded_rows = row_versions.RowsField()


# Technique rows (the same markup for notes and templates) ---------------------------------------


@dataclasses.dataclass
class Row:
    index: int
    technique: str = ""
    minutes: str = ""
    regions: list = dataclasses.field(default_factory=list)
    pressure: str = ""
    position: str = ""
    notes: str = ""
    override_reason: str = ""
    errors: dict = dataclasses.field(default_factory=dict)
    warnings: list = dataclasses.field(default_factory=list)
    requirements: list = dataclasses.field(default_factory=list)
    verdict: str = "ok"

    @property
    def regions_name(self) -> str:
        return f"t-{self.index}-regions"

    @property
    def is_blank(self) -> bool:
        return not (self.technique or self.minutes or self.regions or self.notes or self.override_reason)

    def data(self, fields) -> dict:
        values = {
            "technique": self.technique,
            "minutes": self.minutes,
            "regions": self.regions,
            "pressure": self.pressure,
            "position": self.position,
            "notes": self.notes,
            "override_reason": self.override_reason,
        }
        return {k: v for k, v in values.items() if k in fields}


def rows_from_post(post, extra: int = 0) -> list[Row]:
    try:
        count = min(max(int(post.get("t-count", 0)), 0), note_rules.MAX_ROWS)
    except ValueError:
        count = 0
    rows = []
    for i in range(count):
        p = f"t-{i}-"
        rows.append(
            Row(
                i,
                post.get(p + "technique", "").strip(),
                post.get(p + "minutes", "").strip(),
                post.getlist(p + "regions"),
                post.get(p + "pressure", ""),
                post.get(p + "position", ""),
                post.get(p + "notes", ""),
                post.get(p + "override_reason", ""),
            )
        )
    while rows and rows[-1].is_blank:  # the page's blank rows: padded again, never added to
        rows.pop()
    return _pad(rows, extra)


def _pad(rows: list[Row], extra: int = 0) -> list[Row]:
    wanted = min(max(len(rows) + BLANK_ROWS, MIN_ROWS) + extra, note_rules.MAX_ROWS)
    while len(rows) < wanted:
        rows.append(Row(len(rows)))
    return rows


def rows_from_entries(entries, overrides=()) -> list[Row]:
    reasons = {}
    for o in overrides or []:
        reasons.setdefault(o["technique"], o.get("reason", ""))
    rows = []
    for i, entry in enumerate(entries):
        get = entry.get if isinstance(entry, dict) else lambda name, e=entry: getattr(e, name, "")
        technique = get("technique") or ""
        rows.append(
            Row(
                i,
                technique,
                str(get("minutes") or ""),
                list(get("regions") or []),
                get("pressure") or "",
                get("position") or "",
                get("notes") or "",
                reasons.get(technique, ""),
            )
        )
    return _pad(rows)


def submitted(rows: list[Row], fields) -> tuple[list[dict], list[Row]]:
    """The rows with anything in them, as the action takes them, and the rows they came from."""
    used = [row for row in rows if not row.is_blank]
    return [row.data(fields) for row in used], used


def place_errors(form, used: list[Row], exc: ValidationError) -> list[str]:
    """Put an action's errors beside the fields and rows they name; the rest go on top."""
    general = []
    if not hasattr(exc, "error_dict"):
        return list(exc.messages)
    for field, errors in exc.message_dict.items():
        parts = field.split(".")
        if parts[0] == "techniques" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(used):
            used[int(parts[1])].errors[parts[2]] = " ".join(errors)
        elif parts[0] == "techniques" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) < len(used):
            used[int(parts[1])].errors["technique"] = " ".join(errors)
        elif form is not None and field in form.fields:
            form.add_error(field, errors)
        else:
            general.extend(errors)
    marked = [row for row in used if row.errors]
    if marked:
        # The rows may be far below: say on top which ones to finish.
        where = "; ".join(
            f"row {row.index + 1} ({', '.join(ROW_WORDS.get(name, name) for name in row.errors)})" for row in marked
        )
        general.insert(0, f"Technique rows to finish, marked below: {where}.")
    return general


ROW_WORDS = {"override_reason": "reason to chart past the flag"}


def technique_groups(conditions) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The technique, stroke and modality choices, each with screening's verdict for this
    patient (an empty list of conditions: every verdict is "ok")."""

    def verdict(key: str) -> str:
        try:
            return screening.verdict(conditions, key) if conditions else "ok"
        except ValueError:
            return "ok"

    groups = [
        ("Techniques", knowledge.techniques()),
        ("Strokes", knowledge.strokes()),
        ("Adjunct modalities", knowledge.modalities()),
    ]
    return [(title, [(t.key, t.label, verdict(t.key)) for t in items]) for title, items in groups]


def screen_rows(found: note_rules.Screening, rows: list[Row], body_marks) -> None:
    for row in rows:
        if row.technique and row.technique in note_rules.technique_keys():
            checked = note_rules.row_screening(found, row.technique, row.regions, body_marks)
            row.warnings, row.requirements, row.verdict = checked.warnings, checked.requirements, checked.verdict


def _row_choices() -> dict:
    return {
        # The blank row the page's script copies to add a row without a reload.
        "template_row": Row("__i__"),
        "max_rows": note_rules.MAX_ROWS,
        "region_choices": BodyRegion.choices,
        "pressure_choices": Pressure.choices,
        "position_choices": ClientPosition.choices,
    }


# Starting a note -------------------------------------------------------------------------------


def _episode_new_url(patient) -> str:
    """Where to open an episode of care (clinical/views/episodes.py), or the chart."""
    for name, kwargs in (("clinical:episode_new", {"patient_id": patient.public_id}),):
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return reverse("patients:chart", kwargs={"patient_id": patient.public_id})


def _open_note(request, note):
    if note.status == RecordStatus.DRAFT and note.author_id == request.user.pk:
        return redirect("clinical:note_edit", note_id=note.public_id)
    return redirect("clinical:note", note_id=note.public_id)


def _parse_start(value: str, templates) -> tuple[str, NoteTemplate | None]:
    """The "start from" radio: "blank", "carry_forward" or "template:<id>"."""
    kind, _, template_id = (value or notes.Start.BLANK).partition(":")
    template = next((t for t in templates if str(t.public_id) == template_id), None)
    return kind, template


def note_new(request):
    """Start a note: for an appointment (?appointment=<id>: its patient's open episode)
    or, bedside or unscheduled, for an episode (?episode=<id>). Choose the episode when
    there are several, and where the draft starts: blank, a template, or the last note."""
    source = request.POST if request.method == "POST" else request.GET
    appointment = episode = None
    if source.get("appointment"):
        authorize(request.user, "clinical.write")
        appointment = scheduling_access.access_appointment(request.user, source["appointment"], audit_it=False)
        patient = appointment.patient
        authorize(request.user, "clinical.write", patient_id=patient.public_id, record_id=appointment.public_id)
    elif source.get("episode"):
        key = "clinical.write" if request.method == "POST" else "clinical.view"
        episode = access_episode(request.user, source["episode"], key=key)
        patient = episode.patient
    else:
        raise Http404("Start a note from an appointment or an episode of care.")
    if appointment is not None:
        existing = appointment_note(appointment)
        if existing is not None:
            messages.info(request, "This appointment already has a session note.")
            return _open_note(request, existing)
        if request.method == "GET":
            allowed(request.user, "clinical.view", patient_id=patient.public_id, record_id=appointment.public_id)
    choices = notes.open_episodes(patient) if appointment is not None else [episode]
    chosen = episode
    if appointment is not None:
        wanted = source.get("episode_choice", "")
        chosen = choices[0] if len(choices) == 1 else next((e for e in choices if str(e.public_id) == wanted), None)
    templates = templates_for(appointment.service if appointment is not None else None)
    errors: list[str] = []
    no_episode = appointment is not None and not choices
    need_choice = appointment is not None and len(choices) > 1 and chosen is None and request.method == "POST"
    if request.method == "POST" and not need_choice:
        kind, template = _parse_start(request.POST.get("start", ""), templates)
        try:
            start = notes.check_start_note(
                request.user, appointment=appointment, episode=chosen, start=kind, template=template
            )
        except notes.NoteExists as exc:
            messages.info(request, "This appointment already has a session note.")
            return _open_note(request, exc.note)
        except notes.EpisodeChoiceNeeded:
            need_choice = True
        except notes.NoOpenEpisode:
            no_episode = True
        except ValidationError as exc:
            errors.extend(exc.messages)
        else:
            note = notes.do_start_note(request.user, start)
            messages.success(request, "Draft note started.")
            return redirect("clinical:note_edit", note_id=note.public_id)
    carry = {e.pk: notes.last_signed_note(e) for e in choices}
    plan = current_plan(chosen) if chosen is not None else None
    if plan is not None and not (plan.techniques or plan.modalities):
        plan = None
    context = chart_context(request, patient, TAB)
    context.update(
        {
            "appointment": appointment,
            "episodes": choices,
            "chosen": chosen,
            "need_choice": need_choice,
            "no_episode": no_episode,
            "episode_new_url": _episode_new_url(patient),
            "template_choices": [(f"{notes.Start.TEMPLATE}:{t.public_id}", t) for t in templates],
            "carry": [(e, carry.get(e.pk)) for e in choices],
            "any_carry": any(carry.values()),
            "plan": plan,
            "plan_rows": len(plan.techniques) + len(set(plan.modalities) - set(plan.techniques)) if plan else 0,
            "plan_minutes": notes.visit_minutes(appointment, plan) if plan else 0,
            "errors": errors,
            # The plan by default when there is one: the fewest inputs for a follow-up visit.
            "start": source.get("start") or (notes.Start.PLAN if plan else notes.Start.BLANK),
        }
    )
    return render(request, "clinical/note_new.html", context)


# Editing a draft ------------------------------------------------------------------------------


def _form_initial(note) -> dict:
    return {name: getattr(note, name) for name in ("session_date", "pain_now", *note_rules.TEXT_FIELDS)}


def note_parts(techniques, body_marks) -> dict[str, str]:
    """A note's rows and body chart in words, as a conflict notice compares them."""
    return {
        "techniques": row_versions.technique_text(techniques),
        "body_marks": row_versions.marks_text(body_marks),
    }


def load_note_version(form, note, techniques) -> None:
    """What the page shows of ``note``: its version and snapshots, in the form's hidden fields."""
    form.load_version(note, NOTE_FIELDS, what="session note")
    if not form.is_bound:
        form.initial[row_versions.FIELD] = row_versions.sign(note_parts(techniques, note.body_marks))


def note_conflict(form, exc: versions.StaleVersion, posted_rows=None, posted_marks=None) -> set[str]:
    """The notice for a save (or a signature) refused because the note was saved since the
    page was loaded: what changed, fields and parts; returns the parts to show as stored."""
    show_conflict(form, exc, [name for name in NOTE_FIELDS if name in form.fields])
    current = exc.current
    now = note_parts(current.techniques.all(), current.body_marks)
    posted = {}
    if posted_rows is not None:
        posted["techniques"] = row_versions.technique_text(posted_rows)
    if posted_marks is not None:
        posted["body_marks"] = row_versions.marks_text(posted_marks)
    changes, rebase = row_versions.row_changes(form.data.get(row_versions.FIELD), now, posted, NOTE_PARTS)
    form.conflict.changes.extend(changes)
    if current.typed:
        # Typing kept from another tab or device changes no stored field: say it, since saving
        # this page replaces it.
        kept_at = notes.typed_at(current)
        form.conflict.changes.append(
            Change(
                "Typing kept but not saved as the note",
                "—",
                f"kept{' ' + clock.stamp(kept_at) if kept_at else ''} from another tab or device; saving this "
                "page replaces it (open the draft in a new tab to read it first)",
            )
        )
    row_versions.rebind(form, now)
    return rebase


def note_edit(request, note_id):
    note = access.access_note(request.user, note_id, audit_it=False)
    if note.status == RecordStatus.SIGNED:
        messages.info(request, "This note is signed and locked; add an addendum to change it.")
        return redirect("clinical:note", note_id=note.public_id)
    notes.require_author_draft(request.user, note)
    found = notes.screening_for(note.episode.patient)
    fixed_date = note.appointment_id is not None
    general: list[str] = []
    warnings: list[str] = []
    restored = ""
    if request.method == "POST":
        form = NoteForm(request.POST, initial=_form_initial(note), fixed_date=fixed_date)
        load_note_version(form, note, [])
        rows = rows_from_post(request.POST, extra=1 if "add_row" in request.POST else 0)
        raw_marks = bodychart.marks_from_post(request.POST, "body_marks")
        if "add_row" not in request.POST and form.is_valid():
            data, used = submitted(rows, note_rules.ROW_FIELDS)
            fields = {k: v for k, v in form.cleaned_data.items() if k in NOTE_FIELDS}
            if fixed_date:
                fields.pop("session_date", None)
            try:
                expected = form.expected_version()
                change = notes.check_update_note(
                    request.user, note, {**fields, "body_marks": raw_marks, "techniques": data}
                )
                note = notes.do_update_note(request.user, note, change, expected_version=expected)
            except versions.StaleVersion as exc:
                rebase = note_conflict(form, exc, data, raw_marks)
                current = exc.current
                if "techniques" in rebase:
                    rows = rows_from_entries(current.techniques.all(), current.overrides)
                if "body_marks" in rebase:
                    raw_marks = current.body_marks
            except ValidationError as exc:
                general = [
                    "Not saved as the note yet: finish what is marked, then save again.",
                    *place_errors(form, used, exc),
                ]
            else:
                warnings = change.warnings
                if "sign" not in request.POST:
                    messages.success(request, "Draft saved.")
                    for warning in warnings:
                        messages.warning(request, warning)
                    return redirect("clinical:note", note_id=note.public_id)
                try:
                    signing = notes.check_sign_note(
                        request.user, note, complete_appointment=bool(request.POST.get("complete_appointment"))
                    )
                    notes.do_sign_note(request.user, note, signing, expected_version=note.version)
                except ValidationError as exc:
                    general = ["Draft saved, but not signed.", *place_errors(form, used, exc)]
                    # The page now edits the version just saved.
                    saved = form.data.copy()
                    saved["version"] = str(note.version)
                    saved["loaded"] = signed_snapshot(note, NOTE_FIELDS)
                    saved[row_versions.FIELD] = row_versions.sign(note_parts(note.techniques.all(), note.body_marks))
                    form.data = saved
                else:
                    messages.success(request, "Note signed. Later changes are addenda.")
                    return redirect("clinical:note", note_id=note.public_id)
        try:
            marks = bodychart.clean_body_marks(raw_marks)
        except ValidationError as exc:
            marks = note.body_marks
            form.add_error(None, exc)
    elif note.typed:
        # What was typed and kept before it passed the checks: shown again, with what to fix.
        allowed(request.user, "clinical.view", patient_id=note.episode.patient.public_id, record_id=note.public_id)
        form, rows, raw_marks, general = _restore_typed(request.user, note, fixed_date)
        try:
            marks = bodychart.clean_body_marks(raw_marks)
        except ValidationError:
            marks = note.body_marks
        kept_at = notes.typed_at(note)
        restored = clock.stamp(kept_at) if kept_at else ""
    else:
        allowed(request.user, "clinical.view", patient_id=note.episode.patient.public_id, record_id=note.public_id)
        form = NoteForm(initial=_form_initial(note), fixed_date=fixed_date)
        entries = list(note.techniques.all())
        load_note_version(form, note, entries)
        rows = rows_from_entries(entries, note.overrides)
        marks = note.body_marks
    screen_rows(found, rows, marks)
    context = chart_context(request, note.episode.patient, TAB)
    context.update(
        {
            "note": note,
            "form": form,
            "rows": rows,
            "general_errors": general,
            "restored": restored,
            "marks": marks,
            "screening": found,
            "flags": found.flags,
            "goals": notes.plan_goals(note.episode),
            "groups": technique_groups(found.conditions),
            "minutes_allowed": note_rules.minutes_allowed(note.appointment),
            "overrun": note_rules.OVERRUN_MINUTES,
            "can_complete": note.appointment is not None and note.appointment.status in notes.OPEN_STATUSES,
            **_row_choices(),
        }
    )
    return render(request, "clinical/note_form.html", context, status=409 if form.conflict else 200)


# Saving as one types ---------------------------------------------------------------------------


def _checked_change(actor, note, form, rows, raw_marks, fixed_date):
    """(the NoteChange, the rows used) for the posted editor; ValidationError when the form
    or the note's checks refuse it."""
    if not form.is_valid():
        raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
    data, used = submitted(rows, note_rules.ROW_FIELDS)
    fields = {k: v for k, v in form.cleaned_data.items() if k in NOTE_FIELDS}
    if fixed_date:
        fields.pop("session_date", None)
    try:
        change = notes.check_update_note(actor, note, {**fields, "body_marks": raw_marks, "techniques": data})
    except ValidationError as exc:
        exc.rows_used = used
        raise
    return change, used


def _problems(exc: ValidationError, used: list[Row]) -> list[dict]:
    """An action's refusal as [{"field": the editor's input name or "", "message": ...}]:
    a row's error names that row's input (t-<n>-<field>), so the page can mark it."""
    if not hasattr(exc, "error_dict"):
        return [{"field": "", "message": m} for m in exc.messages]
    found = []
    for key, errors in exc.message_dict.items():
        parts = key.split(".")
        field = "" if key == "__all__" else key
        if parts[0] == "techniques" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(used):
            field = f"t-{used[int(parts[1])].index}-{parts[2] if len(parts) == 3 else 'technique'}"
        elif parts[0] == "techniques":
            field = ""
        found.extend({"field": field, "message": m} for m in errors)
    return found


def _restore_typed(actor, note, fixed_date):
    """The editor as last typed (note.typed), on the note's current version, with what its
    checks say beside each field: (form, rows, raw marks, general errors)."""
    data = QueryDict(mutable=True)
    for name, values in (note.typed.get("form") or {}).items():
        data.setlist(name, values)
    data["version"] = str(note.version)
    data["loaded"] = signed_snapshot(note, NOTE_FIELDS)
    data[row_versions.FIELD] = row_versions.sign(note_parts(note.techniques.all(), note.body_marks))
    form = NoteForm(data, initial=_form_initial(note), fixed_date=fixed_date)
    load_note_version(form, note, [])
    rows = rows_from_post(data)
    raw_marks = bodychart.marks_from_post(data, "body_marks")
    general: list[str] = []
    if form.is_valid():
        try:
            _checked_change(actor, note, form, rows, raw_marks, fixed_date)
        except ValidationError as exc:
            general = place_errors(form, getattr(exc, "rows_used", []), exc)
    return form, rows, raw_marks, general


def _saved_state(note, state: str, problems=(), message: str = "") -> JsonResponse:
    at = clock.local(note.updated_at)
    return JsonResponse(
        {
            "state": state,
            "message": message or f"Saved at {at:%H:%M}",
            "version": note.version,
            "loaded": signed_snapshot(note, NOTE_FIELDS),
            row_versions.FIELD: row_versions.sign(note_parts(note.techniques.all(), note.body_marks)),
            "problems": list(problems),
        }
    )


@require_POST
def note_autosave(request, note_id):
    """The editor's script saves the draft as one types (after a pause, on leaving a field,
    before an automatic logoff). What passes the checks is saved as the note; what does not
    yet (a row without its minutes) is kept as typed, and the answer says what to finish.
    JSON: {"state": "saved"|"kept"|"conflict"|"refused", "message", "version", ...}."""
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    fixed_date = note.appointment_id is not None
    form = NoteForm(request.POST, initial=_form_initial(note), fixed_date=fixed_date)
    load_note_version(form, note, [])
    rows = rows_from_post(request.POST)
    raw_marks = bodychart.marks_from_post(request.POST, "body_marks")
    expected = form.expected_version()
    try:
        try:
            change, _used = _checked_change(request.user, note, form, rows, raw_marks, fixed_date)
        except ValidationError as exc:
            problems = _problems(exc, getattr(exc, "rows_used", []))
            typed = notes.check_keep_typed(request.user, note, dict(request.POST.lists()))
            kept = notes.do_keep_typed(request.user, note, typed, expected_version=expected)
            at = clock.local(kept.updated_at)
            first = problems[0]["message"] if problems else ""
            message = f"Kept at {at:%H:%M}, not saved as the note yet: {first}".rstrip(": ")
            return _saved_state(kept, "kept", problems, message)
        saved = notes.do_update_note(request.user, note, change, expected_version=expected)
        return _saved_state(saved, "saved")
    except versions.StaleVersion:
        message = (
            "Not saved: this note was saved from another tab or device after you opened it. "
            "Press Save draft to see both and choose."
        )
        return JsonResponse({"state": "conflict", "message": message}, status=409)
    except ValidationError as exc:
        return JsonResponse({"state": "refused", "message": " ".join(exc.messages)}, status=422)


# Reading, signing, addenda ---------------------------------------------------------------------


def _entry_view(entry) -> dict:
    regions = dict(BodyRegion.choices)
    return {
        "technique_label": note_rules.technique_label(entry.technique),
        "minutes": entry.minutes,
        "region_labels": [regions.get(r, r) for r in entry.regions],
        "pressure": entry.get_pressure_display(),
        "position": entry.get_position_display(),
        "notes": entry.notes,
    }


def _override_view(override: dict) -> dict:
    try:
        at = datetime.datetime.fromisoformat(override.get("at", ""))
    except ValueError:
        at = None
    return {
        "technique": note_rules.technique_label(override.get("technique", "")),
        "condition": note_rules.condition_label(override.get("condition", "")),
        "verdict": override.get("verdict", ""),
        "reason": override.get("reason", ""),
        "at": at,
    }


def note(request, note_id):
    found_note = access.access_note(request.user, note_id)
    return _note_page(request, found_note)


def _note_page(request, found_note, version_form=None, status: int = 200):
    """The note as it reads; ``version_form`` a NoteVersion holding a refused signature's
    conflict (status 409), else one with the version shown, for the sign button."""
    detail = notes.note_detail(found_note)
    if version_form is None:
        version_form = NoteVersion()
        load_note_version(version_form, found_note, detail.techniques)
    context = chart_context(request, found_note.episode.patient, TAB)
    context.update(
        {
            "note": found_note,
            "detail": detail,
            "flags": detail.screening.flags,
            "entries": [(_entry_view(t), checked) for t, checked in zip(detail.techniques, detail.rows, strict=True)],
            "override_rows": [_override_view(o) for o in found_note.overrides or []],
            "is_author": found_note.author_id == request.user.pk,
            "addendum_form": AddendumForm(),
            "can_complete": found_note.appointment is not None and found_note.appointment.status in notes.OPEN_STATUSES,
            "version_form": version_form,
        }
    )
    return render(request, "clinical/note.html", context, status=status)


@require_POST
def note_sign(request, note_id):
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    form = NoteVersion(request.POST)
    load_note_version(form, note, [])
    form.is_valid()
    try:
        expected = form.expected_version()
        signing = notes.check_sign_note(
            request.user, note, complete_appointment=bool(request.POST.get("complete_appointment"))
        )
        notes.do_sign_note(request.user, note, signing, expected_version=expected)
    except versions.StaleVersion as exc:
        # The signer has not read what was saved since: show it, with the sign button again.
        note_conflict(form, exc)
        return _note_page(request, access.access_note(request.user, note_id), form, status=409)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        if note.status == RecordStatus.DRAFT:
            return redirect("clinical:note_edit", note_id=note.public_id)
    else:
        messages.success(request, "Note signed. Later changes are addenda.")
    return redirect("clinical:note", note_id=note.public_id)


@require_POST
def note_addendum(request, note_id):
    note = access.access_note(request.user, note_id, key="clinical.write", audit_it=False)
    form = AddendumForm(request.POST)
    try:
        text = notes.check_add_addendum(request.user, note, form.data.get("text", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        notes.do_add_addendum(request.user, note, text)
        messages.success(request, "Addendum added.")
    return redirect("clinical:note", note_id=note.public_id)


def _what_is_lost(note) -> list[str]:
    """What discarding ``note`` throws away, in words (never the text itself)."""
    lost = []
    rows = list(note.techniques.all())
    if rows:
        minutes = sum(r.minutes for r in rows)
        lost.append(f"{len(rows)} technique row{'s' if len(rows) != 1 else ''} ({minutes} minutes)")
    labels = dict(NoteForm.base_fields.items())
    written = [labels[name].label for name in note_rules.TEXT_FIELDS if getattr(note, name).strip()]
    if written:
        lost.append("what is written under " + ", ".join(f"“{w}”" for w in written))
    if note.pain_now is not None:
        lost.append("the pain score")
    if note.body_marks:
        lost.append(f"{len(note.body_marks)} body chart mark{'s' if len(note.body_marks) != 1 else ''}")
    if note.overrides:
        lost.append(f"{len(note.overrides)} reason{'s' if len(note.overrides) != 1 else ''} to treat past a flag")
    if note.typed:
        lost.append("typing kept but not saved yet")
    return lost


def note_discard(request, note_id):
    """Discarding asks first, naming what would be lost; the POST from that page discards."""
    key = "clinical.write"
    note = access.access_note(request.user, note_id, key=key, audit_it=False)
    if request.method != "POST":
        if note.status == RecordStatus.SIGNED:
            messages.info(request, "This note is signed and locked: it cannot be discarded.")
            return redirect("clinical:note", note_id=note.public_id)
        notes.require_author_draft(request.user, note, "discard")
        context = chart_context(request, note.episode.patient, TAB)
        context.update({"note": note, "lost": _what_is_lost(note)})
        return render(request, "clinical/note_discard.html", context)
    episode_id = note.episode.public_id
    try:
        notes.check_discard_draft(request.user, note)
        expected = versions.parse_posted(request.POST.get("version"))
        notes.do_discard_draft(request.user, note, expected_version=expected)
    except versions.StaleVersion:
        messages.error(
            request, "This draft was saved again after you opened it, so it was not discarded. Read it, then decide."
        )
        return redirect("clinical:note_edit", note_id=note.public_id)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("clinical:note", note_id=note.public_id)
    messages.success(request, "Draft discarded.")
    return redirect("clinical:episode_notes", episode_id=episode_id)


def episode_notes(request, episode_id):
    episode, found = access.access_episode_notes(request.user, episode_id)
    context = chart_context(request, episode.patient, TAB)
    context.update({"episode": episode, "notes": found})
    return render(request, "clinical/notes_list.html", context)


# Templates -----------------------------------------------------------------------------------


def note_templates(request):
    found = access.access_note_templates(request.user)
    return render(request, "clinical/note_templates.html", {"templates": found, "nav": "note_templates"})


def _template_initial(template: NoteTemplate | None) -> dict:
    if template is None:
        return {"is_active": True}
    names = ("name", "subjective", "objective", "assessment", "plan", "is_active")
    return {"service": template.service.public_id, **{n: getattr(template, n) for n in names}}


def _save_template(request, template: NoteTemplate | None):
    form = TemplateForm(request.POST or None, initial=_template_initial(template))
    if template is not None:
        form.load_version(template, TEMPLATE_FIELDS, what="note template")
        if not form.is_bound:
            form.initial[row_versions.FIELD] = row_versions.sign(_template_parts(template))
    if request.method == "POST":
        rows = rows_from_post(request.POST, extra=1 if "add_row" in request.POST else 0)
    else:
        rows = rows_from_entries(template.techniques if template else [])
    general: list[str] = []
    if request.method == "POST" and "add_row" not in request.POST and form.is_valid():
        data, used = submitted(rows, note_rules.TEMPLATE_ROW_FIELDS)
        fields = {k: v for k, v in form.cleaned_data.items() if k in TEMPLATE_FIELDS}
        try:
            expected = form.expected_version() if template is not None else None
            clean = check_save_template(request.user, {**fields, "techniques": data}, template)
            saved = do_save_template(request.user, clean, template, expected_version=expected)
        except versions.StaleVersion as exc:
            show_conflict(form, exc, TEMPLATE_FIELDS)
            if form.data.get("service") != request.POST.get("service"):  # rebased: the choice posts the public id
                form.data["service"] = str(exc.current.service.public_id)
            now = _template_parts(exc.current)
            posted = {"techniques": row_versions.technique_text(data)}
            changes, rebase = row_versions.row_changes(form.data.get(row_versions.FIELD), now, posted, TEMPLATE_PARTS)
            form.conflict.changes.extend(changes)
            row_versions.rebind(form, now)
            if "techniques" in rebase:
                rows = rows_from_entries(exc.current.techniques)
        except ValidationError as exc:
            general = place_errors(form, used, exc)
        else:
            messages.success(request, f"Template “{saved.name}” saved.")
            return redirect("clinical:note_templates")
    context = {
        "form": form,
        "template": template,
        "rows": rows,
        "general_errors": general,
        "groups": technique_groups([]),
        "is_template": True,
        "nav": "note_templates",
        **_row_choices(),
    }
    return render(request, "clinical/note_template_form.html", context, status=409 if form.conflict else 200)


def _template_parts(template: NoteTemplate) -> dict[str, str]:
    return {"techniques": row_versions.technique_text(template.techniques)}


def note_template_new(request):
    authorize(request.user, "clinical.write")
    return _save_template(request, None)


def note_template(request, template_id):
    key = "clinical.write" if request.method == "POST" else "clinical.view"
    template = access.access_note_template(request.user, template_id, key=key)
    return _save_template(request, template)


urlpatterns = [
    path("notes/new/", note_new, name="note_new"),
    path("notes/<uuid:note_id>/", note, name="note"),
    path("notes/<uuid:note_id>/edit/", note_edit, name="note_edit"),
    path("notes/<uuid:note_id>/sign/", note_sign, name="note_sign"),
    path("notes/<uuid:note_id>/addendum/", note_addendum, name="note_addendum"),
    path("notes/<uuid:note_id>/discard/", note_discard, name="note_discard"),
    path("notes/<uuid:note_id>/autosave/", note_autosave, name="note_autosave"),
    path("episodes/<uuid:episode_id>/notes/", episode_notes, name="episode_notes"),
    path("note-templates/", note_templates, name="note_templates"),
    path("note-templates/new/", note_template_new, name="note_template_new"),
    path("note-templates/<uuid:template_id>/", note_template, name="note_template"),
]
