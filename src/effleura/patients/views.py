"""Patient pages: list and search, registration, the chart, health history and consent.
Thin: parse, access_*/check_*, do_*, render."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from effleura.core import careteam, handover, versions
from effleura.core.access import allowed, authorize
from effleura.core.extension_points import chart_sections
from effleura.core.forms import Change, Conflict, apply_errors, check_refused_form, conflict_status, take_theirs
from effleura.core.permissions import has_permission
from effleura.patients import access, actions
from effleura.patients import history as history_rules
from effleura.patients.chart import chart_context
from effleura.patients.choices import PatientStatus
from effleura.patients.forms import (
    ConsentCaptureForm,
    ConsentDocumentForm,
    ConsentVersionForm,
    ConsentWithdrawForm,
    HealthHistoryForm,
    MedicationFormSet,
    PatientForm,
    SurgeryFormSet,
)
from effleura.patients.models import ConsentDocument, ConsentDocumentVersion

# List and search --------------------------------------------------------------------


def patient_list(request):
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in PatientStatus.values:
        status = ""
    context = {"nav": "patients", "q": q, "status": status, "statuses": PatientStatus.choices}
    if q:
        context["results"] = access.access_patient_search(request.user, q)
    else:
        context["page"] = access.access_patient_list(request.user, request.GET.get("page"), status=status)
    return render(request, "patients/list.html", context)


def patient_search(request):
    """The answer-while-typing results (htmx)."""
    q = request.GET.get("q", "").strip()
    results = access.access_patient_search(request.user, q) if q else None
    return render(request, "patients/includes/search_results.html", {"results": results, "q": q})


# Registration and demographics ---------------------------------------------------------------


def patient_create(request):
    duplicates = []
    form = PatientForm(request.POST or None, show_confirm=bool(request.POST.get("saw_duplicates")))
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in actions.PATIENT_FIELDS}
        try:
            clean = actions.check_create_patient(
                request.user, data, allow_duplicate=form.cleaned_data.get("confirm_different_person", False)
            )
        except actions.DuplicatePatient as exc:
            duplicates = exc.duplicates
            form = PatientForm(request.POST, show_confirm=True)
            form.is_valid()
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            patient = actions.do_create_patient(request.user, clean)
            messages.success(request, f"{patient.display_name} registered with chart number {patient.chart_number}.")
            return redirect("patients:chart", patient_id=patient.public_id)
    elif request.method == "POST":
        # Every problem in one pass: the fields the form accepted are checked as well.
        check_refused_form(
            form, lambda data: actions.check_create_patient(request.user, _patient_data(data), allow_duplicate=True)
        )
    return render(request, "patients/patient_form.html", {"form": form, "duplicates": duplicates, "nav": "patients"})


def _patient_data(values: dict) -> dict:
    return {k: v for k, v in values.items() if k in actions.PATIENT_FIELDS}


def patient_edit(request, patient_id):
    patient = access.access_patient(request.user, patient_id, key="patient.update", audit_it=False)
    # Validating copies the submitted values onto the form's instance; give it a copy so a
    # refused edit still shows (and checks against) the stored record, not the typed name.
    form = PatientForm(request.POST or None, instance=copy.copy(patient))
    form.load_version(patient, actions.PATIENT_FIELDS, what="patient's details")
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in actions.PATIENT_FIELDS}
        try:
            clean = actions.check_update_patient(request.user, patient, data)
            actions.do_update_patient(request.user, patient, clean, expected_version=form.expected_version())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:chart", patient_id=patient.public_id)
    elif request.method == "POST":
        check_refused_form(form, lambda data: actions.check_update_patient(request.user, patient, _patient_data(data)))
    elif request.method == "GET":
        allowed(request.user, "patient.view", patient_id=patient.public_id, record_id=patient.public_id)
    # A failed POST re-renders the form from the submitted values, not from the database.
    context = {"form": form, "patient": patient, "nav": "patients"}
    return render(request, "patients/patient_form.html", context, status=conflict_status(form))


# The chart ------------------------------------------------------------------------


@require_POST
def break_glass(request, patient_id):
    """Emergency access to a patient not on the therapist's care team (core/careteam.py)."""
    patient = access.access_break_glass_patient(request.user, patient_id)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith("/"):
        back = reverse("patients:chart", args=[patient.public_id])
    if not careteam.is_limited(request.user):
        messages.info(request, "This chart is open to you: the practice does not limit therapists to their care team.")
        return redirect(back)
    try:
        reason = careteam.check_break_glass(request.user, request.POST.get("reason", ""))
    except ValidationError as exc:
        error = exc.message_dict["reason"][0]
        context = careteam.page_context(patient.public_id, back, reason=request.POST.get("reason", ""), error=error)
        return render(request, "core/break_glass.html", context, status=400)
    careteam.do_break_glass(request.user, patient.public_id, reason)
    messages.success(request, "Emergency access granted for this session; it is audited and shown to the owner.")
    return redirect(back)


def chart(request, patient_id):
    patient = access.access_patient(request.user, patient_id)
    context = chart_context(request, patient, "overview")
    context["sections"] = chart_sections.collect(request.user, patient)
    if context["can_clinical"]:
        _p, current, _prev = access.access_health_history(request.user, patient.public_id)
        context["current_history"] = current
        if current is not None:
            context["screening"] = history_rules.condition_labels(current.screening_conditions)
    return render(request, "patients/chart.html", context)


def history(request, patient_id):
    patient, versions = access.access_health_history_versions(request.user, patient_id)
    current = versions[0] if versions else None
    previous = versions[1] if len(versions) > 1 else None
    return _render_history(request, patient, current, previous, versions)


def history_version(request, patient_id, version):
    patient, current, previous = access.access_health_history(request.user, patient_id, version)
    _p, versions = access.access_health_history_versions(request.user, patient_id)
    return _render_history(request, patient, current, previous, versions)


def _render_history(request, patient, current, previous, versions):
    context = chart_context(request, patient, "history")
    context.update(
        {
            "current": current,
            "previous": previous,
            "versions": versions,
            "latest_version": versions[0].version if versions else None,
            "facts": history_rules.describe(current) if current else [],
            "implied": history_rules.condition_labels(
                history_rules.implied_conditions(current, timezone.localdate()) if current else []
            ),
            "changes": history_rules.changes(previous, current) if current else [],
        }
    )
    return render(request, "patients/history.html", context)


def _history_initial(current) -> tuple[dict, list, list]:
    if current is None:
        return {}, [], []
    initial = {name: getattr(current, name) for name in actions.HISTORY_FIELDS}
    return initial, initial.pop("medications"), initial.pop("surgeries")


def history_new(request, patient_id):
    patient, current, _previous = access.access_health_history(request.user, patient_id)
    authorize(request.user, "health_history.create", patient_id=patient.public_id)
    initial, meds, surgeries = _history_initial(current)
    conflict = None
    if request.method == "POST":
        form = HealthHistoryForm(request.POST)
        # A page names the version it was filled from; one that does not is from before
        # versions (or made by hand): refused, never saved over what it cannot see.
        form.fields["based_on"].required = True
        form.fields["based_on"].error_messages["required"] = versions.OUT_OF_DATE
        med_forms = MedicationFormSet(request.POST, prefix="med")
        surgery_forms = SurgeryFormSet(request.POST, prefix="surgery")
        if form.is_valid() and med_forms.is_valid() and surgery_forms.is_valid():
            data = dict(form.cleaned_data)
            based_on = data.pop("based_on", None)
            # Keep every row with anything in it: a blood-thinner tick or a surgery date on a
            # row without a name must be refused by the action, not silently dropped.
            data["medications"] = [f.cleaned_data for f in med_forms if any(f.cleaned_data.values())]
            data["surgeries"] = [f.cleaned_data for f in surgery_forms if any(f.cleaned_data.values())]
            try:
                clean = actions.check_add_health_history(request.user, patient, data)
                saved = actions.do_add_health_history(request.user, patient, clean, based_on=based_on)
            except versions.StaleVersion as exc:
                conflict, base = _history_conflict(request.user, patient, form, exc)
                # Rows the person left as they were take the newer version's (a colleague's
                # new blood thinner must not drop out on the next save); edited rows stay.
                if base is not None and clean["medications"] == base.medications:
                    med_forms = MedicationFormSet(initial=exc.current.medications, prefix="med")
                if base is not None and clean["surgeries"] == base.surgeries:
                    surgery_forms = SurgeryFormSet(initial=exc.current.surgeries, prefix="surgery")
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, f"Health history saved as version {saved.version}.")
                return redirect("patients:history", patient_id=patient.public_id)
    else:
        form = HealthHistoryForm(initial=initial | {"based_on": current.version if current else 0})
        med_forms = MedicationFormSet(initial=meds, prefix="med")
        surgery_forms = SurgeryFormSet(initial=surgeries, prefix="surgery")
    context = chart_context(request, patient, "history")
    context.update(
        {"form": form, "med_forms": med_forms, "surgery_forms": surgery_forms, "current": current, "conflict": conflict}
    )
    return render(request, "patients/history_form.html", context, status=409 if conflict else 200)


def _history_conflict(user, patient, form, exc):
    """The notice for a health history filled from version n while n+1 was saved: what
    the newer version(s) changed, and the form rebased on the newest, keeping the input.
    Returns (the notice, version n or None)."""
    current = exc.current
    base = None
    if exc.expected:
        try:
            _p, base, _prev = access.access_health_history(user, patient.public_id, exc.expected)
        except Http404:
            base = None
    changes = [Change(c.label, c.before, c.after) for c in history_rules.changes(base, current)] if base else []
    data = form.data.copy()
    if base is not None:
        # An answer the person left as it was takes the newer version's; theirs stay theirs.
        for name in form.fields:
            if name in form.cleaned_data and hasattr(base, name) and form.cleaned_data[name] == getattr(base, name):
                take_theirs(form, data, name, current)
    data["based_on"] = str(current.version)
    form.data = data
    notice = Conflict(
        what="health history",
        version=current.version,
        by=current.recorded_by.display_name,
        at=current.recorded_at,
        changes=changes,
    )
    return notice, base


# Consent ------------------------------------------------------------------------------


def _latest_version(document_id) -> ConsentDocumentVersion:
    version = (
        ConsentDocumentVersion.objects.filter(document__public_id=document_id, document__is_active=True)
        .select_related("document")
        .order_by("-version")
        .first()
    )
    if version is None:
        raise Http404("No such consent document.")
    return version


def consent_capture(request, patient_id, document_id):
    patient = access.access_patient(request.user, patient_id, key="consent.capture", audit_it=False)
    version = _latest_version(document_id)
    for_patient = getattr(request, "handover", None) is not None
    form = ConsentCaptureForm(request.POST or None, for_patient=for_patient)
    signed = access.access_standing_consent(request.user, patient, version)
    if request.method == "POST" and signed is None and form.is_valid():
        data = form.cleaned_data
        try:
            signature = actions.check_capture_consent(
                request.user,
                patient,
                version,
                data["typed_name"],
                data["agreed"],
                signed_by_name=data["signed_by_name"],
                signed_by_relationship=data["signed_by_relationship"],
            )
            actions.do_capture_consent(request.user, patient, version, signature)
        except actions.AlreadySigned as exc:
            signed = exc.consent  # a second tab, or the back button: one signature stands
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Consent to “{version.document.title}” recorded.")
            return redirect("patients:chart", patient_id=patient.public_id)
    context = chart_context(request, patient, "overview")
    context.update({"form": form, "version": version, "signed": signed, "for_patient": for_patient})
    if signed is not None:
        context["signed_on"] = actions.signed_on(signed)
    return render(request, "patients/consent_capture.html", context)


@require_POST
def consent_withdraw(request, patient_id, record_id):
    patient = access.access_patient(request.user, patient_id, key="consent.withdraw", audit_it=False)
    consent = access.access_consent(request.user, patient, record_id, key="consent.withdraw")
    form = ConsentWithdrawForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Say why the consent is withdrawn.")
        reason = actions.check_withdraw_consent(request.user, consent, form.cleaned_data["reason"])
        actions.do_withdraw_consent(request.user, consent, reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Consent to “{consent.document_version.document.title}” withdrawn.")
    return redirect("patients:chart", patient_id=patient.public_id)


def consent_documents(request):
    documents, latest = access.current_consent_documents()
    inactive = ConsentDocument.objects.filter(is_active=False)
    rows = [(d, latest[d.id]) for d in documents]
    return render(request, "patients/consent_documents.html", {"rows": rows, "inactive": inactive, "nav": "consent"})


def consent_document_new(request):
    form = ConsentDocumentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.check_save_consent_document(request.user, title=data["title"], kind=data["kind"], body=data["body"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            document = actions.do_create_consent_document(
                request.user, title=data["title"], kind=data["kind"], required=data["required"], body=data["body"]
            )
            messages.success(request, f"“{document.title}” published as version 1.")
            return redirect("patients:consent_document", document_id=document.public_id)
    return render(request, "patients/consent_document_form.html", {"form": form, "nav": "consent"})


def _document(document_id) -> ConsentDocument:
    document = ConsentDocument.objects.filter(public_id=document_id).first()
    if document is None:
        raise Http404("No such consent document.")
    return document


def consent_document(request, document_id):
    document = _document(document_id)
    if request.method == "POST" and "active" in request.POST:
        actions.do_set_consent_document_active(request.user, document, request.POST["active"] == "1")
        messages.success(request, "Saved.")
        return redirect("patients:consent_document", document_id=document.public_id)
    versions = document.versions.select_related("published_by").order_by("-version")
    return render(
        request, "patients/consent_document.html", {"document": document, "versions": versions, "nav": "consent"}
    )


def consent_document_version_new(request, document_id):
    document = _document(document_id)
    current = document.versions.order_by("-version").first()
    form = ConsentVersionForm(request.POST or None, initial={"body": current.body if current else ""})
    if current is not None:
        form.load_version(current, ["body"], what="consent form's wording")
    if request.method == "POST" and form.is_valid():
        try:
            actions.check_save_consent_document(
                request.user,
                title=document.title,
                kind=document.kind,
                body=form.cleaned_data["body"],
                document=document,
            )
            version = actions.do_publish_consent_version(
                request.user, document, form.cleaned_data["body"], expected_version=form.expected_version()
            )
        except ValidationError as exc:  # a StaleVersion: someone published other wording meanwhile
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"Version {version.version} published. Patients who signed an earlier version now show as outdated.",
            )
            return redirect("patients:consent_document", document_id=document.public_id)
    context = {"form": form, "document": document, "nav": "consent"}
    return render(request, "patients/consent_document_form.html", context, status=conflict_status(form))


# Hand-over mode (core/handover.py): the device goes to the patient --------------------


def _handover_screens(user) -> list[str]:
    """The screens a patient may use while ``user`` has handed them the device."""
    screens = ["patients:handover", "patients:consent_capture"]
    if has_permission(user, "health_history.create"):
        screens.append("patients:history_new")
    return screens


@require_POST
def handover_start(request, patient_id):
    patient = access.access_patient(request.user, patient_id, key="consent.capture", audit_it=False)
    landing = reverse("patients:handover", args=[patient.public_id])
    handover.start(request, patient_id=patient.public_id, url_names=_handover_screens(request.user), landing=landing)
    return redirect(landing)


def handover_home(request, patient_id):
    """What the patient may do on the handed-over device: sign what is due, fill in the
    intake form. Shows only their first name."""
    patient = access.access_patient(request.user, patient_id, key="consent.capture")
    context = chart_context(request, patient, "overview")
    context["can_intake"] = "patients:history_new" in (
        request.handover["urls"] if getattr(request, "handover", None) else _handover_screens(request.user)
    )
    return render(request, "patients/handover.html", context)
