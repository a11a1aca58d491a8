"""Referrals pages: progress reports and discharge summaries, and the blank permission form.
URL names are listed in core/permissions.py URL_RULES (# referrals: reports and forms).

Thin: parse, access_*/check_*, do_*, render; the rules are in referrals/reports.py and
referrals/forms_pdf.py.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.core import versions
from effleura.core.forms import TOO_LONG, VersionedForm, apply_errors, conflict_status
from effleura.core.permissions import has_permission
from effleura.documents.pdf import pdf_response
from effleura.patients.chart import chart_context
from effleura.referrals import access, forms_pdf, report_sending, reports
from effleura.referrals.choices import DeliveryMethod, ReportKind, ReportStatus
from effleura.referrals.report_pdf import PDF_TEMPLATE, pdf_context, pdf_filename

TAB = "clinical"


def _context(request, patient, **extra) -> dict:
    context = chart_context(request, patient, TAB)
    context.update(
        {
            "can_write": has_permission(request.user, "report.write"),
            "can_print": has_permission(request.user, "report.print"),
            "can_send": has_permission(request.user, "report.send"),
            **extra,
        }
    )
    return context


# The permission form --------------------------------------------------------------------


def permission_form(request):
    """The blank referral / permission form (PDF); ?patient=<uuid> pre-fills name and birth date."""
    patient = access.access_permission_form(request.user, request.GET.get("patient") or None)
    data = forms_pdf.render_form(patient, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{forms_pdf.filename()}"'
    response["Cache-Control"] = "no-store"
    return response


# Lists ------------------------------------------------------------------------------------


def episode_reports(request, episode_id):
    episode = access.access_episode_for_reports(request.user, episode_id)
    context = _context(request, episode.patient, episode=episode, reports=reports.reports_of_episode(episode))
    return render(request, "referrals/report_list.html", context)


def patient_reports(request, patient_id):
    patient = access.access_patient_for_reports(request.user, patient_id)
    return render(
        request, "referrals/report_list.html", _context(request, patient, reports=reports.reports_of_patient(patient))
    )


# New, edit, sign ----------------------------------------------------------------------------


class NewReportForm(forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=ReportKind.choices)
    referral = forms.ChoiceField(label="Referral", required=False, help_text="Whose referral the report answers.")
    period_start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, referrals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referral"].choices = [("", "None")] + [
            (str(r.public_id), f"{r.provider.display_name}, {r.referral_date:%Y-%m-%d}") for r in referrals
        ]


def report_new(request, episode_id):
    """Choose the kind, the referral and the period; the report is generated as a draft."""
    episode = access.access_episode_for_reports(request.user, episode_id, key="report.write")
    referrals = access.referrals_of(episode.patient)
    if request.method == "POST":
        form = NewReportForm(request.POST, referrals=referrals)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            try:
                report = reports.do_create_report(
                    request.user, reports.check_create_report(request.user, episode, data)
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Report generated: review it, edit it and sign it.")
                return redirect("referrals:report_edit", report_id=report.public_id)
    else:
        start, end = reports.default_period(episode)
        linked = next((r for r in referrals if r.episode_id == episode.pk), referrals[0] if referrals else None)
        form = NewReportForm(
            initial={
                "kind": request.GET.get("kind")
                if request.GET.get("kind") in ReportKind.values
                else ReportKind.PROGRESS,
                "referral": str(linked.public_id) if linked else "",
                "period_start": start,
                "period_end": end,
            },
            referrals=referrals,
        )
    return render(request, "referrals/report_new.html", _context(request, episode.patient, episode=episode, form=form))


class EditReportForm(VersionedForm, forms.Form):
    summary = forms.CharField(
        label="Summary",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=reports.TEXT_MAX,
        error_messages=TOO_LONG,
    )
    recommendations = forms.CharField(
        label="Recommendations",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=reports.TEXT_MAX,
        error_messages=TOO_LONG,
    )


EDITED = ("summary", "recommendations")


def report_view(request, report_id):
    report = access.access_report(request.user, report_id)
    context = _context(
        request,
        report.episode.patient,
        report=report,
        c=report.content,
        is_author=report.author_id == request.user.pk,
        is_draft=report.status == ReportStatus.DRAFT,
        deliveries=list(report.deliveries.all()),
    )
    return render(request, "referrals/report.html", context)


def report_edit(request, report_id):
    report = access.access_report(
        request.user, report_id, key="report.write" if request.method == "POST" else "report.view"
    )
    if request.method == "POST":
        form = EditReportForm(request.POST)
        form.load_version(report, EDITED, what="report")
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in EDITED}
            try:
                clean = reports.check_update_report(request.user, report, data)
                reports.do_update_report(request.user, report, clean, expected_version=form.expected_version())
            except ValidationError as exc:  # a StaleVersion becomes the form's conflict notice
                apply_errors(form, exc)
            else:
                messages.success(request, "Report saved.")
                return redirect("referrals:report", report_id=report.public_id)
    else:
        form = EditReportForm(initial={"summary": report.summary, "recommendations": report.recommendations})
        form.load_version(report, EDITED, what="report")
        try:
            reports.check_update_report(request.user, report, {})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("referrals:report", report_id=report.public_id)
    context = _context(request, report.episode.patient, report=report, c=report.content, form=form)
    return render(request, "referrals/report_form.html", context, status=conflict_status(form))


@require_POST
def report_sign(request, report_id):
    report = access.access_report(request.user, report_id, key="report.write")
    try:
        report_sending.check_sign_report(request.user, report)
        # The version the page showed: what was read is what gets signed.
        expected = versions.parse_posted(request.POST.get("version"))
        report_sending.do_sign_report(request.user, report, expected_version=expected)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Report signed. It can now be printed and sent.")
    return redirect("referrals:report", report_id=report.public_id)


def report_pdf(request, report_id):
    """The signed report as a PDF on the letterhead (audited as a print)."""
    try:
        report = access.access_report_pdf(request.user, report_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("referrals:report", report_id=report_id)
    return pdf_response(request, PDF_TEMPLATE, pdf_context(report), filename=pdf_filename(report))


# Sending ------------------------------------------------------------------------------------


class SendForm(forms.Form):
    method = forms.ChoiceField(label="How", choices=DeliveryMethod.choices, widget=forms.RadioSelect)
    to = forms.CharField(
        label="To", required=False, max_length=report_sending.TO_MAX, help_text="Email address, fax number or person."
    )


def report_send(request, report_id):
    """Email the PDF to the provider, or record that it was faxed, handed over or posted."""
    # Read under report.view: do_send_report checks report.send and audits the export once.
    report = access.access_report(request.user, report_id)
    if request.method == "POST":
        form = SendForm(request.POST)
        if form.is_valid():
            try:
                delivery = report_sending.do_send_report(
                    request.user,
                    report,
                    form.cleaned_data["method"],
                    form.cleaned_data["to"],
                    base_url=request.build_absolute_uri("/"),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                done = "Email queued" if delivery.method == DeliveryMethod.EMAIL else "Delivery recorded"
                messages.success(request, f"{done}: {delivery.get_method_display().lower()} to {delivery.to}.")
                return redirect("referrals:report", report_id=report.public_id)
    else:
        if report.status != ReportStatus.SIGNED:
            messages.error(request, "Sign the report before sending it.")
            return redirect("referrals:report", report_id=report.public_id)
        form = SendForm(
            initial={
                "method": DeliveryMethod.EMAIL,
                "to": report_sending.default_recipient(report, DeliveryMethod.EMAIL),
            }
        )
    provider = report.referral.provider if report.referral_id else None
    context = _context(request, report.episode.patient, report=report, form=form, provider=provider)
    return render(request, "referrals/report_send.html", context)


urlpatterns = [
    path("permission-form.pdf", permission_form, name="permission_form"),
    path("episodes/<uuid:episode_id>/reports/", episode_reports, name="episode_reports"),
    path("episodes/<uuid:episode_id>/reports/new/", report_new, name="report_new"),
    path("patients/<uuid:patient_id>/reports/", patient_reports, name="patient_reports"),
    path("reports/<uuid:report_id>/", report_view, name="report"),
    path("reports/<uuid:report_id>/edit/", report_edit, name="report_edit"),
    path("reports/<uuid:report_id>/sign/", report_sign, name="report_sign"),
    path("reports/<uuid:report_id>/report.pdf", report_pdf, name="report_pdf"),
    path("reports/<uuid:report_id>/send/", report_send, name="report_send"),
]
