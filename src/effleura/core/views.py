"""Core pages: signing in and out, the home page, one's own profile and API tokens,
staff management and the audit trail. Thin: parse, authorize, act, render."""

import copy
import csv
import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from effleura.core import access, actions, audit, clock, handover, seals, signin
from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.forms import ApiTokenForm, VersionedForm, apply_errors, check_refused_form, conflict_status
from effleura.core.middleware import is_api
from effleura.core.models import Practice, User


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        # The password was right; core/signin.py decides the next step (a second factor).
        return redirect(signin.after_password(self.request, form.get_user(), self.get_success_url()))

    def form_invalid(self, form):
        # The attempted username is not kept: people type passwords into it by mistake.
        audit.record(
            self.request.user, AuditAction.LOGIN, "session", outcome=AuditOutcome.DENIED, detail="failed sign-in"
        )
        return super().form_invalid(form)


@require_POST
def logout_view(request):
    audit.record(request.user, AuditAction.LOGOUT, "session")
    logout(request)
    messages.success(request, "You have been logged out.")
    return redirect("core:login")


def home(request):
    return render(request, "core/home.html", {"nav": "home"})


# Profile and API tokens ------------------------------------------------------


def profile(request):
    new_token = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = actions.do_create_api_token(request.user, form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            form = ApiTokenForm()
    tokens = request.user.api_tokens.all()
    return render(request, "core/profile.html", {"form": form, "tokens": tokens, "new_token": new_token})


@require_POST
def token_revoke(request, token_id):
    try:
        token = actions.check_revoke_api_token(request.user, token_id)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("core:profile")
    actions.do_revoke_api_token(request.user, token)
    messages.success(request, f"Token “{token.name}” revoked. Programs using it can no longer sign in.")
    return redirect("core:profile")


# Staff --------------------------------------------------------------------------


class StaffForm(forms.ModelForm):
    password = forms.CharField(
        label="New password",
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="At least 10 characters. Leave empty to keep the current one "
        "(a new account without one signs in after a password reset by email).",
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "credentials", "npi", "email", "role", "is_active"]
        labels = {"is_active": "Active (may sign in)", "role": "Role"}
        help_texts = {"username": "Letters, digits and @ . + - _ only.", "role": "Leave empty to suspend access."}


def staff_list(request):
    staff = access.access_staff_list(request.user)
    return render(request, "core/staff_list.html", {"staff": staff, "nav": "staff", "roles": Role})


def staff_create(request):
    return _staff_form(request, None)


def staff_edit(request, user_id):
    return _staff_form(request, access.access_staff_member(request.user, user_id))


def _staff_form(request, member):
    form = StaffForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "password"}
        password = form.cleaned_data["password"] or None
        try:
            actions.check_save_staff(
                request.user, username=data["username"], password=password, user=member, npi=data.get("npi", "")
            )
            saved = actions.do_save_staff(request.user, user=member, fields=data, password=password)
        except ValidationError as exc:
            if password and not hasattr(exc, "error_dict"):
                form.add_error("password", exc)  # the password validators' refusal
            else:
                apply_errors(form, exc)
        else:
            messages.success(request, f"Saved {saved.display_name}.")
            return redirect("core:staff_list")
    elif request.method == "POST":
        check_refused_form(
            form,
            lambda data: actions.check_save_staff(
                request.user,
                username=data.get("username", ""),
                password=data.get("password") or None,
                user=member,
                npi=data.get("npi", ""),
            ),
        )
    return render(request, "core/staff_form.html", {"form": form, "member": member, "nav": "staff"})


# Practice -----------------------------------------------------------------------


class PracticeForm(VersionedForm, forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = Practice
        fields = actions.PRACTICE_FIELDS + actions.PRACTICE_SETTINGS

    def clean_phone_region(self):
        return (self.cleaned_data.get("phone_region") or "").strip().upper()


def practice_settings(request):
    practice = Practice.current()
    # A copy: validating writes the typed values onto the form's instance.
    form = PracticeForm(request.POST or None, instance=copy.copy(practice))
    # The page posts the version it showed: a save over someone else's newer one is refused
    # (409), showing what they changed, with this person's input kept.
    form.load_version(practice, PracticeForm._meta.fields, what="practice's details")
    if request.method == "POST" and form.is_valid():
        try:
            clean = actions.check_save_practice(request.user, form.cleaned_data)
            actions.do_save_practice(request.user, clean, expected_version=form.expected_version())
        except ValidationError as exc:  # a StaleVersion becomes the form's conflict notice
            apply_errors(form, exc)
        else:
            messages.success(request, "Practice details saved.")
            return redirect("core:practice")
    elif request.method == "POST":
        # Every problem in one pass: the fields the form accepted are checked as well.
        check_refused_form(form, lambda data: actions.check_save_practice(request.user, data))
    context = {"form": form, "nav": "practice"}
    return render(request, "core/practice.html", context, status=conflict_status(form))


# Audit trail --------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    patient = forms.UUIDField(required=False, label="Patient id")
    user = forms.ModelChoiceField(User.objects.all(), required=False, label="User", to_field_name="public_id")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    outcome = forms.ChoiceField(choices=[("", "Any"), *AuditOutcome.choices], required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("The “From” date must be before the “To” date.")
        return data


def _filters(form: AuditFilterForm) -> access.AuditFilters | None:
    """The filters asked for; None when they do not validate (nothing is shown)."""
    if not form.is_bound:
        return access.AuditFilters()
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return access.AuditFilters(
        patient_id=data["patient"], actor=data["user"], start=data["start"], end=data["end"], outcome=data["outcome"]
    )


def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    page = access.access_audit_events(request.user, _filters(form), request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_list.html",
        {"form": form, "page": page, "nav": "audit", "query": query.urlencode(), "seals": seals.status()},
    )


class _Echo:
    def write(self, value):
        return value


AUDIT_CSV_COLUMNS = [
    "at", "actor_username", "actor_role", "patient_id", "record_type",
    "record_id", "action", "outcome", "client_address", "detail",
]  # fmt: skip


def audit_export(request):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    form = AuditFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('core:audit_list')}?{request.GET.urlencode()}")
    events = access.access_audit_export(request.user, _filters(form), tuple(AUDIT_CSV_COLUMNS))
    writer = csv.writer(_Echo())
    # The rows are written after the request's zone is gone (streaming): take it now.
    # ISO 8601 with the practice's offset, e.g. 2026-12-01T10:45:00.123456-08:00.
    zone = clock.practice_zone()

    def rows():
        yield writer.writerow(AUDIT_CSV_COLUMNS)
        for event in events:
            yield writer.writerow(
                [
                    clock.local(v, zone).isoformat() if isinstance(v, datetime.datetime) else ("" if v is None else v)
                    for v in event
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = clock.local(timezone.now(), zone).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


# Error pages: no details, never patient data. API paths answer JSON. --------------------


def _error(request, status: int, template: str, message: str, context=None):
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    return render(request, template, context or {}, status=status)


def permission_denied(request, exception=None):
    message = "Your role does not allow this."
    return _error(request, 403, "403.html", message, {"reason": "Your role does not allow this page."})


def not_found(request, exception=None):
    return _error(request, 404, "404.html", "Not found: there is nothing at this address.")


def server_error(request):
    return _error(request, 500, "500.html", "Something went wrong on our side; nothing was half-saved. Try again.")


# Hand-over mode (core/handover.py) ------------------------------------------------


class HandoverEndForm(forms.Form):
    password = forms.CharField(
        label="Staff password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


def handover_end(request):
    """ "Give the device back to staff": the one page every locked address leads to. The
    same staff member types their password to leave; passkeys will come as a second way
    (core/handover.py)."""
    state = handover.current(request)
    if state is None:
        return redirect("core:home")
    form = HandoverEndForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if handover.reauthenticate_with_password(request, form.cleaned_data["password"]):
            patient_id = handover.end(request)
            messages.success(request, "Welcome back. The device is out of hand-over mode.")
            return redirect(reverse("patients:chart", args=[patient_id]) if patient_id else "core:home")
        if handover.too_many_failures(request):
            audit.record(request.user, AuditAction.LOGOUT, "session", detail="too many failed sign-ins (hand-over)")
            logout(request)
            messages.error(request, "Too many wrong passwords: you have been logged out. Log in again.")
            return redirect("core:login")
        form.add_error("password", "That is not the password of the staff member who handed over the device.")
    return render(request, "core/handover_end.html", {"form": form, "landing": state["landing"]})
