"""Clinical pages: outcome measures and progress charts. URL names are listed in
core/permissions.py URL_RULES (# clinical: outcome measures and home care).

Thin: parse the tablet form, then clinical/access.py (access_* to read) and
clinical/measures.py (check_*/do_* to record), render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path

from effleura.clinical import measures
from effleura.clinical.access import access_episode, access_measurement, access_progress
from effleura.clinical.choices import EpisodeStatus
from effleura.core.permissions import has_permission
from effleura.patients.chart import chart_context

TAB = "clinical"
# Above the PSFS's five: rows beyond it are ignored, never stored.
PSFS_ROWS = 5
# Fields whose errors show beside their question rather than at the top.
ROW_FIELDS = ("item_", "activity_", "rating_")


def _context(request, episode, **extra) -> dict:
    context = chart_context(request, episode.patient, TAB)
    context.update(
        {
            "episode": episode,
            "episode_open": episode.status == EpisodeStatus.OPEN,
            "can_write": has_permission(request.user, "clinical.write"),
            **extra,
        }
    )
    return context


def measure_list(request, episode_id):
    """The episode's measures: a chart per measure (pain with the notes' ratings), the goal
    as a line, first versus last against the MCID, and a data table under every chart."""
    episode, measurements, charts = access_progress(request.user, episode_id)
    for m in measurements:
        m.short = measures.measure_short(m.measure)
    for chart in charts:
        chart.summary = measures.summary(chart)
        chart.json_id = f"progress-{chart.key}"
    context = _context(
        request,
        episode,
        measurements=list(reversed(measurements)),
        charts=charts,
        choices=[(key, measures.measure_name(key)) for key in measures.measure_keys()],
    )
    return render(request, "clinical/measures.html", context)


def measure_new(request, episode_id):
    """The tablet form: ?measure=<key> shows that questionnaire; without it, a chooser."""
    # Reading the episode is what the form does until it is sent; check_record_measure
    # authorizes the write (and the URL table already asked for clinical.write).
    episode = access_episode(request.user, episode_id)
    key = (request.POST.get("measure") if request.method == "POST" else request.GET.get("measure")) or ""
    if key not in measures.measure_keys():
        choices = [(k, measures.measure_name(k)) for k in measures.measure_keys()]
        return render(request, "clinical/measure_choose.html", _context(request, episode, choices=choices))
    form = measures.measure_form(key)
    values, errors = {}, {}
    if request.method == "POST":
        data, values, errors = _parse(request.POST, form)
        if not errors:
            try:
                clean = measures.check_record_measure(request.user, episode, data)
            except ValidationError as exc:
                errors = _messages(exc)
            else:
                saved = measures.do_record_measure(request.user, episode, clean)
                band = f" ({saved.band})" if saved.band else ""
                messages.success(request, f"{form.name} scored {saved.score:g}{saved.unit}{band}.")
                return redirect("clinical:measures", episode_id=episode.public_id)
    context = _context(
        request,
        episode,
        form=form,
        values=values,
        errors=errors,
        top_errors=[m for f, m in errors.items() if f != "answers" and not f.startswith(ROW_FIELDS)],
        rows=_rows(form, values),
        psfs_rows=_psfs_rows(values),
    )
    return render(request, "clinical/measure_form.html", context, status=422 if errors else 200)


def measurement_detail(request, episode_id, measurement_id):
    """One completed questionnaire: every item with the answer given (or "not answered")."""
    episode, measurement = access_measurement(request.user, episode_id, measurement_id)
    form = measures.measure_form(measurement.measure)
    if form.is_psfs:
        answers = [(label, answer) for label, answer in zip(measurement.labels, measurement.answers, strict=False)]
    else:
        answers = [
            (item.heading, _answer_text(item, answer))
            for item, answer in zip(form.items, measurement.answers, strict=False)
        ]
    return render(
        request,
        "clinical/measurement.html",
        _context(request, episode, measurement=measurement, form=form, answers=answers),
    )


# Parsing the form -----------------------------------------------------------------------


def _parse(post, form: measures.MeasureForm) -> tuple[dict, dict, dict]:
    """(data for check_record_measure, the raw values to show again, errors by field)."""
    values: dict[str, str] = {"taken_on": post.get("taken_on", "").strip()}
    errors: dict[str, str] = {}
    answers: list[int | None] = []
    labels: list[str] = []
    if form.is_psfs:
        for row in range(1, PSFS_ROWS + 1):
            name = " ".join(post.get(f"activity_{row}", "").split())
            rating = post.get(f"rating_{row}", "").strip()
            values[f"activity_{row}"], values[f"rating_{row}"] = name, rating
            if not name and rating in ("", "skip"):
                continue
            if not name:
                errors[f"activity_{row}"] = "Name the activity this rating is for."
                continue
            labels.append(name)
            answers.append(_number(rating, form, f"rating_{row}", errors))
    else:
        for item in form.items:
            name = f"item_{item.number}"
            raw = post.get(name, "").strip()
            values[name] = raw
            answers.append(_number(raw, form, name, errors))
    data = {"measure": form.key, "answers": answers, "taken_on": values["taken_on"] or None}
    if form.is_psfs:
        data["labels"] = labels
    return data, values, errors


def _number(raw: str, form: measures.MeasureForm, name: str, errors: dict) -> int | None:
    if raw in ("", "skip"):
        return None  # unanswered: the scorer applies the measure's missing-item rule
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"Choose an answer from {form.answer_min} to {form.answer_max}."
        return None
    if not form.answer_min <= value <= form.answer_max:
        errors[name] = f"Choose an answer from {form.answer_min} to {form.answer_max}."
        return None
    return value


def _messages(exc: ValidationError) -> dict[str, str]:
    if hasattr(exc, "error_dict"):
        return {field: " ".join(msgs) for field, msgs in exc.message_dict.items()}
    return {"__all__": " ".join(exc.messages)}


def _rows(form: measures.MeasureForm, values: dict) -> list[dict]:
    return [
        {"item": item, "name": f"item_{item.number}", "value": values.get(f"item_{item.number}", "")}
        for item in form.items
    ]


def _psfs_rows(values: dict) -> list[dict]:
    return [
        {
            "number": row,
            "activity": values.get(f"activity_{row}", ""),
            "rating": values.get(f"rating_{row}", ""),
            "activity_name": f"activity_{row}",
            "rating_name": f"rating_{row}",
        }
        for row in range(1, PSFS_ROWS + 1)
    ]


def _answer_text(item: measures.FormItem, answer) -> str:
    if answer is None:
        return "not answered"
    for choice in item.choices:
        if choice.value == answer and choice.label:
            return f"{answer}: {choice.label}"
    return str(answer)


urlpatterns = [
    path("episodes/<uuid:episode_id>/measures/", measure_list, name="measures"),
    path("episodes/<uuid:episode_id>/measures/new/", measure_new, name="measure_new"),
    path("episodes/<uuid:episode_id>/measures/<uuid:measurement_id>/", measurement_detail, name="measurement"),
]
