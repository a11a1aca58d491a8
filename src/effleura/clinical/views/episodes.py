"""Clinical pages: the patient's clinical record (the chart's "Clinical" tab), episodes of
care and discharge. URL names are listed in core/permissions.py URL_RULES
(# clinical: episodes, plans and discharge).

Thin: parse, access_* to read, check_*/do_* to write (clinical/episodes.py,
clinical/discharge.py), render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path

from effleura.clinical import access, discharge, episodes, screening
from effleura.clinical.choices import DischargeReason, EpisodeStatus, GoalStatus, PlanStatus
from effleura.clinical.plan_scheduling import remaining_visits
from effleura.clinical.plans import measure_label, plan_warnings
from effleura.clinical.templatetags.clinical_chart import episode_links
from effleura.core.forms import apply_errors
from effleura.core.permissions import CLINICAL, has_permission
from effleura.patients.chart import chart_context

TAB = "clinical"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class EpisodeForm(forms.Form):
    title = forms.CharField(
        max_length=episodes.TITLE_MAX,
        label="The problem in a few words",
        help_text="e.g. “Low back pain after a fall”. Shown on the calendar to clinicians only.",
    )
    therapist = forms.ModelChoiceField(
        queryset=episodes.clinicians(), to_field_name="public_id", empty_label=None, label="Therapist responsible"
    )
    opened_on = forms.DateField(required=False, widget=DateInput(), label="Opened on", help_text="Today if empty.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["therapist"].label_from_instance = lambda user: user.display_name


class DischargeForm(forms.Form):
    reason = forms.ChoiceField(choices=DischargeReason.choices, widget=forms.RadioSelect, label="Why the episode ends")
    summary = forms.CharField(
        required=False,
        max_length=discharge.SUMMARY_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Discharge summary",
        help_text="Your words: course of treatment, response, recommendations. Required for “Other”.",
    )
    discharged_on = forms.DateField(
        required=False, widget=DateInput(), label="Discharged on", help_text="Today if empty."
    )


def _episode_context(request, episode, section: str, **extra) -> dict:
    context = chart_context(request, episode.patient, TAB)
    context.update(
        {
            "episode": episode,
            "section": section,
            "episode_open": episode.status == EpisodeStatus.OPEN,
            "can_write": has_permission(request.user, "clinical.write"),
            "can_book": has_permission(request.user, "appointment.book"),
            "goal_statuses": GoalStatus.choices,
            **extra,
        }
    )
    return context


# The clinical record of a patient ---------------------------------------------------------


def patient_clinical(request, patient_id):
    """The chart's Clinical tab: screening flags from the current health history, then
    the open and past episodes, each with its plan in force and that plan's goals.
    A bounded number of queries whatever the number of episodes, plans and goals."""
    patient = access.access_patient_clinical(request.user, patient_id)
    history = access.current_history(patient)
    flags = screening.screen(history.screening_conditions) if history is not None else []
    all_episodes = access.episodes_with_plans(request.user, patient)
    for episode in all_episodes:
        episode.current_plan = next((p for p in episode.plan_list if p.status != PlanStatus.SUPERSEDED), None)
        episode.superseded = sum(1 for p in episode.plan_list if p.status == PlanStatus.SUPERSEDED)
        episode.sections = episode_links(episode)
        if episode.current_plan is not None:
            for goal in episode.current_plan.goals.all():
                goal.measure_name = measure_label(goal.measure)
    context = chart_context(request, patient, TAB)
    context.update(
        {
            "history": history,
            "flags": flags,
            "open_episodes": [e for e in all_episodes if e.status == EpisodeStatus.OPEN],
            "past_episodes": [e for e in all_episodes if e.status != EpisodeStatus.OPEN],
            "can_write": has_permission(request.user, "clinical.write"),
        }
    )
    return render(request, "clinical/episode_list.html", context)


def episode_new(request, patient_id):
    patient = access.access_patient_clinical(request.user, patient_id, key="clinical.write")
    initial = {"therapist": request.user.public_id} if request.user.role in CLINICAL else {}
    form = EpisodeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            clean = episodes.check_open_episode(request.user, patient, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            episode = episodes.do_open_episode(request.user, patient, clean)
            messages.success(request, f"Episode “{episode.title}” opened.")
            return redirect("clinical:episode", episode_id=episode.public_id)
    context = chart_context(request, patient, TAB)
    context["form"] = form
    return render(request, "clinical/episode_form.html", context)


def episode_detail(request, episode_id):
    """One episode: its plan in force with goals and screening warnings, the plans it
    replaced, the series booked for it, and its discharge."""
    episode = access.access_episode(request.user, episode_id)
    return episode_page(request, episode)


def episode_page(request, episode, *, status: int = 200, **extra):
    """The episode page (episode already accessed); ``extra`` adds to its context, e.g. a
    refused goal status's notice (status 409)."""
    plans = access.episode_plans(episode)
    current = next((p for p in plans if p.status != PlanStatus.SUPERSEDED), None)
    warnings = []
    if current is not None:
        warnings = plan_warnings(current, access.current_conditions(episode.patient))
        for goal in current.goals.all():
            goal.measure_name = measure_label(goal.measure)
    context = _episode_context(
        request,
        episode,
        "episode",
        plan=current,
        past_plans=[p for p in plans if p is not current],
        warnings=warnings,
        remaining=remaining_visits(current) if current is not None and current.series_id else 0,
        discharge=getattr(episode, "discharge", None) if episode.status == EpisodeStatus.DISCHARGED else None,
        **extra,
    )
    return render(request, "clinical/episode.html", context, status=status)


# Discharge ------------------------------------------------------------------------------------


def episode_discharge(request, episode_id):
    """GET: the discharge form of an open episode, or the discharge summary of a closed
    one. POST: discharge (clinical/discharge.py)."""
    key = "clinical.write" if request.method == "POST" else "clinical.view"
    episode = access.access_episode(request.user, episode_id, key=key)
    if episode.status == EpisodeStatus.DISCHARGED and request.method != "POST":
        return _discharge_summary(request, episode)
    form = DischargeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            clean = discharge.check_discharge(request.user, episode, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = discharge.do_discharge(request.user, episode, clean)
            n = done.cancelled_appointments
            cancelled = f" {n} remaining visit{'s' if n != 1 else ''} cancelled." if n else ""
            messages.success(request, f"Episode “{episode.title}” discharged.{cancelled}")
            return redirect("clinical:discharge", episode_id=episode.public_id)
    plans = access.episode_plans(episode)
    current = next((p for p in plans if p.status == PlanStatus.ACTIVE), None)
    ahead = sum(remaining_visits(p) for p in plans if p.series_id)
    preview = discharge.outcomes(access.episode_measurements(episode))
    context = _episode_context(
        request,
        episode,
        "discharge",
        form=form,
        plan=current,
        goals=list(current.goals.all()) if current is not None else [],
        ahead=ahead,
        outcomes=preview,
    )
    return render(request, "clinical/discharge_form.html", context)


def _discharge_summary(request, episode):
    record = access.episode_discharge(episode)
    for row in record.goals:
        row["measure_name"] = measure_label(row.get("measure") or "")
        row["status_label"] = GoalStatus(row["status"]).label if row.get("status") in GoalStatus.values else ""
    context = _episode_context(request, episode, "discharge", record=record)
    return render(request, "clinical/discharge.html", context)


urlpatterns = [
    path("patients/<uuid:patient_id>/", patient_clinical, name="patient"),
    path("patients/<uuid:patient_id>/episodes/new/", episode_new, name="episode_new"),
    path("episodes/<uuid:episode_id>/", episode_detail, name="episode"),
    path("episodes/<uuid:episode_id>/discharge/", episode_discharge, name="discharge"),
]
