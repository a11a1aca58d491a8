"""Referrals pages: a patient's referrals, new/edit, the referral page, its scanned
original and its earlier versions (served only here, after the permission check,
audited; a file missing from storage is a 404 page saying so), replace/remove the
original (the old file is kept as an earlier version), close. URL names are listed in core/permissions.py URL_RULES
(# referrals: providers and referrals).

Thin: parse, access_* to read, check_*/do_* to write (referrals/referral_actions.py), render.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.clinical import knowledge
from effleura.core.forms import VersionedForm, accepted_values, apply_errors, conflict_status
from effleura.core.permissions import has_permission
from effleura.core.stored_files import open_stored
from effleura.core.values import collect_errors
from effleura.patients.access import access_patient
from effleura.patients.chart import chart_context
from effleura.referrals import access, referral_actions
from effleura.referrals.models import ReferringProvider

TAB = "referrals"


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class ReferralForm(VersionedForm, forms.Form):
    provider = forms.ModelChoiceField(
        queryset=ReferringProvider.objects.none(), to_field_name="public_id", label="Referring provider"
    )
    referral_date = forms.DateField(widget=DateInput(), help_text="The date the prescriber signed it.")
    diagnosis_codes = forms.CharField(
        max_length=200,
        label="Diagnosis codes (ICD-10-CM)",
        help_text="Separate codes with commas, e.g. M54.50, M62.830.",
    )
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    sessions_per_week = forms.IntegerField(required=False, min_value=1, max_value=7, label="Sessions per week")
    weeks = forms.IntegerField(required=False, min_value=1, max_value=104, label="For how many weeks")
    visits_authorized = forms.IntegerField(min_value=1, max_value=500, label="Visits authorized")
    valid_from = forms.DateField(widget=DateInput(), required=False, help_text="The referral date if empty.")
    valid_until = forms.DateField(widget=DateInput())
    authorization_number = forms.CharField(max_length=60, required=False, help_text="The insurer's, if any.")
    precautions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="The prescriber's precautions, in their words.",
    )
    episode = forms.ModelChoiceField(
        queryset=None, required=False, to_field_name="public_id", label="Episode of care", empty_label="None"
    )
    original = forms.FileField(
        required=False,
        label="Scanned original",
        help_text="PDF, PNG or JPEG, at most 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def __init__(self, *args, episodes=(), provider=None, **kwargs):
        super().__init__(*args, **kwargs)
        active = ReferringProvider.objects.filter(is_active=True)
        if provider is not None:
            active = ReferringProvider.objects.filter(is_active=True) | ReferringProvider.objects.filter(pk=provider.pk)
        self.fields["provider"].queryset = active
        if episodes:
            self.fields["episode"].queryset = access.episode_choices(episodes)
            self.fields["episode"].label_from_instance = lambda e: f"{e.title} (opened {e.opened_on:%Y-%m-%d})"
        else:
            del self.fields["episode"]


class OriginalForm(forms.Form):
    original = forms.FileField(label="Scanned original", help_text="PDF, PNG or JPEG, at most 10 MB.")


def _context(request, patient, **extra) -> dict:
    context = chart_context(request, patient, TAB)
    context["can_manage"] = has_permission(request.user, "referral.manage")
    context.update(extra)
    return context


def _form_data(form, values: dict | None = None) -> dict:
    """The fields check_save_referral reads: ``values`` (default: the form's cleaned data)."""
    values = form.cleaned_data if values is None else values
    data = {k: v for k, v in values.items() if k not in ("original", "version", "loaded")}
    if "episode" not in form.fields:
        data.pop("episode", None)
    return data


def patient_referrals(request, patient_id):
    patient, referrals = access.access_patient_referrals(request.user, patient_id)
    return render(request, "referrals/referral_list.html", _context(request, patient, referrals=referrals))


def _save(request, patient, form, referral=None):
    """Validate the form through the actions; answer the saved referral or None."""
    # Every problem in one pass: when the form refused some fields, the rest and the scan
    # are still checked; the scan is checked along with the fields, not once they are right.
    valid = form.is_valid()
    if not form.is_bound:
        return None
    values = form.cleaned_data if valid else accepted_values(form)
    errors: dict[str, str] = {}
    try:
        clean = collect_errors(
            errors, referral_actions.check_save_referral, request.user, patient, _form_data(form, values), referral
        )
        upload = values.get("original")
        original = (
            collect_errors(errors, referral_actions.check_original, request.user, patient, upload, field="original")
            if upload
            else None
        )
        if errors:
            raise ValidationError(errors)
        if not valid:
            return None
        expected = form.expected_version() if referral is not None else None
        return referral_actions.do_save_referral(
            request.user, patient, clean, referral, original, expected_version=expected
        )
    except ValidationError as exc:  # a StaleVersion becomes the form's conflict notice
        apply_errors(form, exc)
        return None


def referral_new(request, patient_id):
    patient = access_patient(request.user, patient_id, key="referral.manage")
    episodes = access.patient_episodes(request.user, patient)
    form = ReferralForm(request.POST or None, request.FILES or None, episodes=episodes)
    if request.method == "POST":
        referral = _save(request, patient, form)
        if referral is not None:
            messages.success(request, "Referral recorded.")
            return redirect("referrals:referral", referral_id=referral.public_id)
    return render(request, "referrals/referral_form.html", _context(request, patient, form=form, referral=None))


def referral_edit(request, referral_id):
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    patient = referral.patient
    if referral.is_closed:
        messages.error(request, "This referral is closed; record a new referral instead.")
        return redirect("referrals:referral", referral_id=referral.public_id)
    episodes = access.patient_episodes(request.user, patient)
    form = ReferralForm(
        request.POST or None,
        request.FILES or None,
        initial=_initial(referral),
        episodes=episodes,
        provider=referral.provider,
    )
    # The page posts the version it showed: a save over someone else's newer one is refused
    # (409), showing what they changed, with this person's input kept.
    form.load_version(referral, [f for f in referral_actions.FIELDS if f in form.fields], what="referral",
                      initial=_initial)  # fmt: skip
    if request.method == "POST":
        saved = _save(request, patient, form, referral)
        if saved is not None:
            messages.success(request, "Referral saved.")
            return redirect("referrals:referral", referral_id=referral.public_id)
    context = _context(request, patient, form=form, referral=referral)
    return render(request, "referrals/referral_form.html", context, status=conflict_status(form))


def _initial(referral) -> dict:
    """The edit form filled from ``referral`` as it is stored."""
    return {
        "provider": referral.provider.public_id,
        "referral_date": referral.referral_date,
        "diagnosis_codes": ", ".join(referral.diagnosis_codes),
        "reason": referral.reason,
        "sessions_per_week": referral.sessions_per_week,
        "weeks": referral.weeks,
        "visits_authorized": referral.visits_authorized,
        "valid_from": referral.valid_from,
        "valid_until": referral.valid_until,
        "authorization_number": referral.authorization_number,
        "precautions": referral.precautions,
        "episode": referral.episode.public_id if referral.episode else None,
    }


def referral_detail(request, referral_id):
    referral = access.access_referral(request.user, referral_id)
    context = _context(
        request,
        referral.patient,
        referral=referral,
        original_form=OriginalForm(),
        can_clinical_view=has_permission(request.user, "clinical.view"),
        earlier_scans=access.access_earlier_scans(request.user, referral),
    )
    return render(request, "referrals/referral.html", context)


def _scan_response(field_file, content_type: str, record_id, name: str) -> FileResponse:
    """A stored scan as an answer: never cached, never sniffed into another type, named
    without patient data. A file missing from storage is StoredFileMissing (a 404 page)."""
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(content_type, "bin")
    content_type = content_type if extension != "bin" else "application/octet-stream"
    response = FileResponse(open_stored(field_file, record_id), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{name}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def referral_original(request, referral_id):
    """The scanned original, only after the permission check; audited."""
    referral = access.access_referral_original(request.user, referral_id)
    return _scan_response(referral.original, referral.original_type, referral.public_id, "referral")


def referral_earlier_scan(request, referral_id, scan_id):
    """An earlier version of the scan (replaced or removed), only after the permission
    check; audited."""
    scan = access.access_earlier_scan(request.user, referral_id, scan_id)
    return _scan_response(scan.file, scan.content_type, scan.public_id, "referral-earlier")


@require_POST
def referral_original_upload(request, referral_id):
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    form = OriginalForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            original = referral_actions.check_original(request.user, referral, form.cleaned_data["original"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            referral_actions.do_attach_original(request.user, referral, original)
            messages.success(request, "Scanned original saved.")
            return redirect("referrals:referral", referral_id=referral.public_id)
    context = _context(request, referral.patient, referral=referral, original_form=form)
    return render(request, "referrals/referral.html", context, status=400)


@require_POST
def referral_original_remove(request, referral_id):
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    try:
        referral_actions.check_remove_original(request.user, referral)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        referral_actions.do_remove_original(request.user, referral)
        messages.success(request, "Scanned original removed from the referral; it is kept under earlier versions.")
    return redirect("referrals:referral", referral_id=referral.public_id)


@require_POST
def referral_close(request, referral_id):
    referral = access.access_referral(request.user, referral_id, key="referral.manage", audit_it=False)
    try:
        referral_actions.check_close_referral(request.user, referral)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        referral_actions.do_close_referral(request.user, referral)
        messages.success(request, "Referral closed.")
    return redirect("referrals:referral", referral_id=referral.public_id)


def diagnosis_search(request):
    """ICD-10-CM codes matching the words or code typed (htmx) for the referral form: the
    bundled list only, no patient data."""
    q = request.GET.get("q", "").strip()[:60]
    results = knowledge.search_diagnosis(q, limit=12) if len(q) >= 2 else []
    return render(request, "clinical/plan_diagnosis_results.html", {"results": results, "q": q})


urlpatterns = [
    path("patients/<uuid:patient_id>/", patient_referrals, name="patient_referrals"),
    path("patients/<uuid:patient_id>/new/", referral_new, name="referral_new"),
    path("diagnosis-codes/", diagnosis_search, name="diagnosis_search"),
    path("<uuid:referral_id>/", referral_detail, name="referral"),
    path("<uuid:referral_id>/edit/", referral_edit, name="referral_edit"),
    path("<uuid:referral_id>/original/", referral_original, name="referral_original"),
    path("<uuid:referral_id>/original/earlier/<uuid:scan_id>/", referral_earlier_scan, name="referral_earlier_scan"),
    path("<uuid:referral_id>/original/upload/", referral_original_upload, name="referral_original_upload"),
    path("<uuid:referral_id>/original/remove/", referral_original_remove, name="referral_original_remove"),
    path("<uuid:referral_id>/close/", referral_close, name="referral_close"),
]
