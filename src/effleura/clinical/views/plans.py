"""Clinical pages: treatment plans, goals and "schedule this plan". URL names are listed
in core/permissions.py URL_RULES (# clinical: episodes, plans and discharge).

Thin: parse, access_* to read, check_*/do_* to write (clinical/plans.py), render. A plan
whose techniques screening restricts is shown with the warnings and saved once the
therapist confirms (a warning, never a refusal).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from effleura.clinical import access, knowledge, plan_scheduling, plans, scoring
from effleura.clinical.choices import EpisodeStatus, GoalDirection, GoalStatus, PlanStatus, Pressure
from effleura.clinical.views import versions as row_versions
from effleura.clinical.views.episodes import DateInput, _episode_context, episode_page
from effleura.core import versions
from effleura.core.forms import VersionedForm, apply_errors, show_conflict
from effleura.scheduling import proposals as proposal_table
from effleura.scheduling.booking import BookingConflict, NeedsConfirmation
from effleura.scheduling.choices import Weekday
from effleura.scheduling.models import Location, Room, Service
from effleura.scheduling.setup import practitioners_qs

GOAL_ROWS = 3  # blank goal rows offered beyond the plan's own
# What a conflict notice compares: the plan form's fields, then the goals.
VERSION_FIELDS = tuple(name for name in plans.PLAN_FIELDS if name != "goals")
PARTS = {"goals": "Goals"}


# Forms ----------------------------------------------------------------------------------------


class PlanForm(VersionedForm):
    """A new plan; ``version`` is the version of the plan in force it was written from
    (0: none), so a plan saved meanwhile by someone else is not silently replaced."""

    loaded_rows = row_versions.RowsField()
    diagnosis_codes = forms.CharField(
        max_length=300,
        label="Diagnosis codes (ICD-10-CM)",
        help_text="Separate codes with commas, e.g. M54.50, M62.830. Search below by code or words.",
    )
    techniques = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, label="Planned techniques and strokes"
    )
    modalities = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple, required=False, label="Adjunct modalities"
    )
    pressure_min = forms.ChoiceField(choices=Pressure.choices, label="Pressure from")
    pressure_max = forms.ChoiceField(choices=Pressure.choices, label="Pressure up to")
    sessions_per_week = forms.IntegerField(min_value=1, max_value=7, label="Sessions a week")
    weeks = forms.IntegerField(min_value=1, max_value=52, label="For how many weeks")
    session_minutes = forms.IntegerField(min_value=5, max_value=180, label="Minutes a session")
    home_care_summary = forms.CharField(
        required=False,
        max_length=plans.HOME_CARE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Home care",
        help_text="In a sentence or two; the full home-care programme is on the episode's Home care page.",
    )
    reassess_on = forms.DateField(required=False, widget=DateInput(), label="Re-assess on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["techniques"].choices = [
            (kind.title() + "s", [(t.key, t.label) for t in knowledge.all_techniques() if t.kind == kind])
            for kind in ("technique", "stroke")
        ]
        self.fields["modalities"].choices = [(t.key, t.label) for t in knowledge.modalities()]


class GoalForm(forms.Form):
    description = forms.CharField(max_length=plans.DESCRIPTION_MAX, required=False, label="Goal")
    # Picked from a menu: the outcome measures, then each joint's movements (and sides). A
    # CharField, so a value the menu lacks is refused by the plan's own rules
    # (clinical/plans.py) with their message, as it is through the API.
    measure = forms.CharField(max_length=60, required=False, label="Measured by", widget=forms.Select())
    baseline = forms.CharField(max_length=20, required=False, label="Baseline")
    target = forms.CharField(max_length=20, required=False, label="Target")
    direction = forms.ChoiceField(
        choices=[("", "As the measure says"), *GoalDirection.choices], required=False, label="Better is"
    )
    target_date = forms.DateField(required=False, widget=DateInput(), label="By")
    status = forms.ChoiceField(choices=GoalStatus.choices, required=False, label="Status")

    def has_content(self) -> bool:
        data = self.cleaned_data
        return any(data.get(name) not in (None, "") for name in ("description", "measure", "baseline", "target"))


class _GoalFormSetBase(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.fields["measure"].widget.choices = measure_menu()
        return form


GoalFormSet = forms.formset_factory(
    GoalForm, formset=_GoalFormSetBase, extra=0, max_num=plans.MAX_GOALS, validate_max=True
)


class ScheduleForm(forms.Form):
    service = forms.ModelChoiceField(
        Service.objects.filter(is_active=True), to_field_name="public_id", empty_label="Choose a service"
    )
    location = forms.ModelChoiceField(
        Location.objects.filter(is_active=True), to_field_name="public_id", empty_label=None
    )
    practitioner = forms.ModelChoiceField(practitioners_qs(), to_field_name="public_id", empty_label=None)
    room = forms.ModelChoiceField(
        Room.objects.filter(is_active=True, location__is_active=True).select_related("location"),
        to_field_name="public_id",
        required=False,
        empty_label="Any free room (chosen for you)",
    )
    start = forms.DateTimeField(
        label="First visit",
        help_text="At the location, in its own time zone.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    repeat = forms.ChoiceField(
        choices=[("weekdays", "On chosen weekdays"), ("days", "Every few days")],
        initial="weekdays",
        widget=forms.RadioSelect,
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices, coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="On"
    )
    every_days = forms.IntegerField(required=False, min_value=1, max_value=90, label="Every … days")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].label_from_instance = lambda user: user.display_name
        self.fields["room"].label_from_instance = lambda room: f"{room.name} ({room.location.name})"

    def clean(self):
        data = super().clean()
        if data.get("repeat") == "days":
            data["weekdays"] = []
            if not data.get("every_days"):
                self.add_error("every_days", "Say how many days apart the visits are.")
        else:
            data["every_days"] = None
            if not data.get("weekdays"):
                self.add_error("weekdays", "Tick the weekdays of the visits.")
        return data


# Helpers ----------------------------------------------------------------------------------------


def _safe_next(request, fallback: str) -> str:
    wanted = request.POST.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return fallback


def _with_measure_names(plan) -> None:
    for goal in plan.goals.all():
        goal.measure_name = plans.measure_label(goal.measure)


def measure_menu() -> list:
    """The "Measured by" menu: not measured, the outcome measures by name, then a group per
    joint of its movements, each side apart ("Cervical spine" → "Rotation, left")."""
    menu: list = [("", "Not measured (a goal you judge)")]
    named = [
        (key, s.name if key.upper() in s.name.upper() else f"{s.name} ({key.upper()})")
        for key, s in scoring.SPECS.items()
    ]
    menu.append(("Outcome measures", named))
    joints: dict[str, list] = {}
    for m in knowledge.rom_movements():
        rows = joints.setdefault(f"Range of motion: {m.joint.replace('_', ' ').capitalize()}", [])
        if m.sided:
            rows += [(plans.rom_measure_key(m, side), f"{m.label}, {side}") for side in plans.SIDES]
        else:
            rows.append((plans.rom_measure_key(m), m.label))
    menu += list(joints.items())
    return menu


# Plans ------------------------------------------------------------------------------------------


def plan_new(request, episode_id):
    """Write the plan of an episode, or change it: the new plan supersedes the one in force
    (which stays readable). Starts from a copy of the plan in force."""
    episode = access.access_episode(request.user, episode_id, key="clinical.write")
    current = plans.current_plan(episode)
    warnings, confirm_needed = [], False
    if request.method == "POST":
        form = PlanForm(request.POST)
        _load_plan_version(form, current)
        goal_forms = GoalFormSet(request.POST, prefix="goals")
        if form.is_valid() & goal_forms.is_valid():
            rows = [g for g in goal_forms if g.has_content()]
            fields = {k: v for k, v in form.cleaned_data.items() if k in VERSION_FIELDS}
            data = {**fields, "goals": [_goal_data(g.cleaned_data) for g in rows]}
            try:
                based_on = form.expected_version()
                clean = plans.check_create_plan(request.user, episode, data)
                warnings = clean["warnings"]
                if warnings and not request.POST.get("confirm_warnings"):
                    confirm_needed = True
                else:
                    plan = plans.do_create_plan(request.user, episode, clean, based_on=based_on)
                    replaced = " It replaces the earlier plan, which stays on the record." if current else ""
                    messages.success(request, f"Treatment plan saved: {plan.visits} visits.{replaced}")
                    return redirect("clinical:episode", episode_id=episode.public_id)
            except versions.StaleVersion as exc:
                warnings, confirm_needed = [], False
                if _plan_conflict(form, exc, data["goals"]):
                    goal_forms = _goal_formset(exc.current)
            except ValidationError as exc:
                _plan_errors(form, goal_forms, rows, exc)
    else:
        initial = plans.plan_initial(current)
        initial.pop("goals")
        initial["diagnosis_codes"] = ", ".join(initial.get("diagnosis_codes") or [])
        form = PlanForm(initial=initial)
        _load_plan_version(form, current)
        goal_forms = _goal_formset(current)
    context = _episode_context(
        request,
        episode,
        "plan",
        form=form,
        goal_forms=goal_forms,
        current=current,
        warnings=warnings,
        confirm_needed=confirm_needed,
    )
    return render(request, "clinical/plan_form.html", context, status=409 if form.conflict else 200)


def _goal_formset(plan):
    """The goal rows of a new plan: a copy of ``plan``'s goals, and blank rows."""
    goals = plans.plan_initial(plan)["goals"]
    for goal in goals:  # 7.0 reads as 7
        goal.update({k: f"{goal[k]:g}" for k in ("baseline", "target") if goal.get(k) is not None})
    goal_forms = GoalFormSet(prefix="goals", initial=goals)
    goal_forms.extra = GOAL_ROWS
    return goal_forms


def _goals_text(goals) -> str:
    """Goals (Goal rows or the dicts the form posts) in words, as a conflict notice compares them."""

    def number(value) -> str:
        try:
            return f"{float(value):g}"
        except (TypeError, ValueError):
            return ""

    lines = []
    for goal in goals:
        get = goal.get if isinstance(goal, dict) else lambda name, g=goal: getattr(g, name, None)
        measure = get("measure") or ""
        baseline, target = number(get("baseline")), number(get("target"))
        line = get("description") or ""
        if measure or baseline or target:
            shown = plans.measure_label(measure) or "measured"
            line += f" ({shown}{f' from {baseline}' if baseline else ''}{f' to {target}' if target else ''})"
        if get("target_date"):
            line += f" by {get('target_date'):%Y-%m-%d}"
        status = get("status") or GoalStatus.NOT_STARTED
        line += f", {GoalStatus(status).label.lower()}" if status in GoalStatus.values else ""
        lines.append(line)
    return "; ".join(lines) or "—"


def _load_plan_version(form, current) -> None:
    """The plan in force's version (0: none yet) and what the page shows of it."""
    if current is None:
        form.version_fields, form.version_what = list(VERSION_FIELDS), "treatment plan"
        if not form.is_bound:
            form.initial["version"] = 0
        return
    form.load_version(current, VERSION_FIELDS, what="treatment plan")
    if not form.is_bound:
        form.initial[row_versions.FIELD] = row_versions.sign({"goals": _goals_text(current.goals.all())})


def _plan_conflict(form, exc: versions.StaleVersion, posted_goals) -> bool:
    """The notice for a plan refused because another was saved since the page was loaded:
    what that plan changed; the form rebased on it. True when the goals are to be shown
    as that plan has them (the person left theirs as they were)."""
    posted_codes = form.data.get("diagnosis_codes")
    show_conflict(form, exc, VERSION_FIELDS)
    current = exc.current
    names = {t.key: t.label for t in knowledge.all_techniques()}
    for change in form.conflict.changes:  # the snapshot lists technique keys: show their names
        if change.label in (form.fields["techniques"].label, form.fields["modalities"].label):
            change.was, change.now = (
                row_versions.key_labels(change.was, names),
                row_versions.key_labels(change.now, names),
            )
    if form.data.getlist("diagnosis_codes") != [posted_codes]:
        form.data["diagnosis_codes"] = ", ".join(current.diagnosis_codes)  # rebased: the field is text
    now = {"goals": _goals_text(current.goals.all())}
    changes, rebase = row_versions.row_changes(
        form.data.get(row_versions.FIELD), now, {"goals": _goals_text(posted_goals)}, PARTS
    )
    form.conflict.changes.extend(changes)
    row_versions.rebind(form, now)
    return "goals" in rebase


def _goal_data(cleaned: dict) -> dict:
    data = {k: v for k, v in cleaned.items() if v not in (None, "")}
    data.setdefault("description", "")
    return data


def _plan_errors(form, goal_forms, rows, exc: ValidationError) -> None:
    """Put the action's errors beside their fields: goals.<n>.<field> on the n-th goal
    given (blank rows skipped), plan fields on the plan form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        parts = key.split(".")
        if parts[0] == "goals" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(rows):
            goal_form = rows[int(parts[1])]
            field = parts[2] if len(parts) > 2 and parts[2] in goal_form.fields else None
            goal_form.add_error(field, errors)
        elif key == "goals":
            form.add_error(None, errors)
        else:
            form.add_error(key if key in form.fields else None, errors)


def episode_plans(request, episode_id):
    """Every plan of an episode: the one in force in full, the replaced ones listed."""
    episode = access.access_episode(request.user, episode_id)
    all_plans = access.episode_plans(episode)
    current = next((p for p in all_plans if p.status != PlanStatus.SUPERSEDED), None)
    warnings = []
    if current is not None:
        _with_measure_names(current)
        warnings = plans.plan_warnings(current, access.current_conditions(episode.patient))
    context = _episode_context(
        request,
        episode,
        "plan",
        plan=current,
        past_plans=[p for p in all_plans if p is not current],
        warnings=warnings,
    )
    return render(request, "clinical/plan_list.html", context)


def plan_detail(request, plan_id):
    """One plan as it was written, in force or replaced."""
    plan = access.access_plan(request.user, plan_id)
    episode = plan.episode
    _with_measure_names(plan)
    warnings = plans.plan_warnings(plan, access.current_conditions(episode.patient))
    newer = None
    if plan.status == PlanStatus.SUPERSEDED:
        newer = plans.current_plan(episode)
    context = _episode_context(request, episode, "plan", plan=plan, warnings=warnings, newer=newer)
    return render(request, "clinical/plan.html", context)


@require_POST
def goal_status(request, goal_id):
    goal = access.access_goal(request.user, goal_id, key="clinical.write")
    episode = goal.plan.episode
    try:
        status = plans.check_update_goal(request.user, goal, request.POST.get("status"))
        expected = versions.parse_posted(request.POST.get("version"))
        plans.do_update_goal(request.user, goal, status, expected_version=expected)
    except versions.StaleVersion as exc:
        # Someone set this goal's status after the page was read: say what it is now.
        form = VersionedForm(request.POST)
        form.is_valid()
        show_conflict(form, exc, [])
        chosen = GoalStatus(status).label
        now = GoalStatus(exc.current.status).label if exc.current.status in GoalStatus.values else exc.current.status
        notice = {"conflict": form.conflict, "goal": goal, "now": now, "chosen": chosen}
        fresh = access.access_episode(request.user, episode.public_id)
        back = _safe_next(request, _episode_url(episode))
        return episode_page(request, fresh, status=409, goal_conflict=notice, next_url=back)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Goal “{goal.description}”: {GoalStatus(status).label.lower()}.")
    fallback = f"{_episode_url(episode)}#goal-{goal.public_id}"
    return redirect(_safe_next(request, fallback))


def _episode_url(episode) -> str:

    return reverse("clinical:episode", kwargs={"episode_id": episode.public_id})


def plan_screening(request, episode_id):
    """The screening warnings for the techniques ticked and the pressure chosen on the plan
    form (htmx)."""
    episode = access.access_episode(request.user, episode_id)
    known = set(knowledge.technique_keys())
    keys = [k for k in request.GET.getlist("techniques") + request.GET.getlist("modalities") if k in known]
    conditions = access.current_conditions(episode.patient)
    warnings = [
        *plans.technique_warnings(conditions, keys),
        *plans.pressure_warnings(conditions, request.GET.get("pressure_max", "")),
    ]
    return render(request, "clinical/plan_warnings.html", {"warnings": warnings, "live": True})


def diagnosis_search(request):
    """ICD-10-CM codes matching the words or code typed (htmx; knowledge base only)."""
    q = request.GET.get("q", "").strip()[:60]
    results = knowledge.search_diagnosis(q, limit=12) if len(q) >= 2 else []
    return render(request, "clinical/plan_diagnosis_results.html", {"results": results, "q": q})


# Schedule this plan ------------------------------------------------------------------------


def plan_schedule(request, plan_id):
    """Propose every visit of the plan through the scheduling engine (free, or a conflict
    with alternatives to choose from), then book them all as one series, or none."""
    plan = access.access_plan(request.user, plan_id, key="clinical.write")
    episode = plan.episode
    if request.method == "POST":
        form = ScheduleForm(request.POST)
    else:
        first = Location.objects.filter(is_active=True).first()
        form = ScheduleForm(
            initial={
                "practitioner": episode.therapist.public_id,
                "location": first.public_id if first else None,
                "weekdays": [],
            }
        )
    rows, conflict, warnings = None, [], []
    if request.method == "POST" and form.is_valid():
        cleaned = form.cleaned_data
        schedule = plan_scheduling.ScheduleRequest(
            practitioner=cleaned["practitioner"],
            service=cleaned["service"],
            location=cleaned["location"],
            first_start=cleaned["start"].replace(tzinfo=cleaned["location"].tz),
            weekdays=tuple(cleaned.get("weekdays") or ()) or None,
            every_days=cleaned.get("every_days"),
            room=cleaned.get("room"),
        )
        proposals = None
        try:
            schedule = plan_scheduling.check_schedule_plan(request.user, plan, schedule)
            if request.POST.get("action") == "book":
                try:
                    visits = proposal_table.chosen_visits(request.POST, plan.visits)
                except ValidationError as exc:
                    visits = None
                    form.add_error(None, exc)
                if visits is not None:
                    try:
                        plan_scheduling.do_schedule_plan(
                            request.user,
                            plan,
                            schedule,
                            visits,
                            confirm_warnings=request.POST.get("confirm_warnings") == "1",
                        )
                    except BookingConflict as exc:
                        conflict = exc.messages
                    except NeedsConfirmation as exc:
                        warnings = exc.warnings  # e.g. visits past the referral's: "Book anyway"
                    else:
                        messages.success(request, f"Booked {len(visits)} visits of the plan as a series.")
                        return redirect("clinical:episode", episode_id=episode.public_id)
            # The proposal again, with today's calendar (after a conflict, too).
            proposals = plan_scheduling.propose_plan_series(request.user, plan, schedule)
        except ValidationError as exc:
            apply_errors(form, exc)
        if proposals is not None:
            chosen = proposal_table.chosen_values(request.POST, len(proposals))
            rows = proposal_table.proposal_rows(proposals, cleaned["location"].tz, cleaned["practitioner"], chosen)
    context = _episode_context(
        request,
        episode,
        "plan",
        plan=plan,
        form=form,
        rows=rows,
        conflicts=proposal_table.conflicts(rows),
        conflict=conflict,
        booking_warnings=warnings,
        leave_out=proposal_table.LEAVE_OUT,
        already=plan_scheduling.remaining_visits(plan) if plan.series_id else 0,
        episode_open=episode.status == EpisodeStatus.OPEN,
    )
    return render(request, "clinical/plan_schedule.html", context, status=409 if conflict else 200)


urlpatterns = [
    path("episodes/<uuid:episode_id>/plans/", episode_plans, name="episode_plans"),
    path("episodes/<uuid:episode_id>/plans/new/", plan_new, name="plan_new"),
    path("episodes/<uuid:episode_id>/plans/screening/", plan_screening, name="plan_screening"),
    path("plans/<uuid:plan_id>/", plan_detail, name="plan"),
    path("plans/<uuid:plan_id>/schedule/", plan_schedule, name="plan_schedule"),
    path("goals/<uuid:goal_id>/status/", goal_status, name="goal_status"),
    path("diagnosis-codes/", diagnosis_search, name="diagnosis_search"),
]
