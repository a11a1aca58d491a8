"""Core pages: signing in and out, the home page, one's own profile and API tokens,
staff management and the audit trail. Thin: parse, authorize, act, render."""

import copy
import csv
import datetime
import itertools
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import HttpResponseNotAllowed, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from effleura.core import (
    access,
    actions,
    audit,
    audit_text,
    careteam,
    clock,
    handover,
    idle,
    lockout,
    mfa,
    mfa_views,
    permissions,
    request_size,
    seals,
    signin,
)
from effleura.core.choices import AuditAction, AuditOutcome, Role
from effleura.core.extension_points import home_sections, patient_finder, patient_labels
from effleura.core.forms import ApiTokenForm, VersionedForm, apply_errors, check_refused_form, conflict_status
from effleura.core.middleware import is_api
from effleura.core.models import Practice, User
from effleura.core.stored_files import StoredFileMissing


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def form_valid(self, form):
        # The password was right; core/signin.py decides the next step (a second factor).
        return redirect(signin.after_password(self.request, form.get_user(), self.get_success_url()))

    def form_invalid(self, form):
        # Audited with the account (its id, or a keyed hash of a name that is no account's);
        # the name typed is never kept: people type passwords into it by mistake. The name
        # is the form's cleaned one (stripped, NFKC-normalised), the one authenticate() and
        # so django-axes counted: " therapist" is therapist's failure in both.
        signin.password_failed(self.request, self._cleaned_username(form))
        lock = getattr(self.request, "effleura_lock", None)
        if lock is not None:
            # django-axes refused it or this failure began a lock: say so, and until when.
            self.request.effleura_lock_shown = True
            context = self.get_context_data(form=form, lock_message=signin.lock_message(lock))
            return self.render_to_response(context, status=429)
        return super().form_invalid(form)

    @staticmethod
    def _cleaned_username(form) -> str:
        name = getattr(form, "cleaned_data", {}).get("username")
        if name is None:  # the field itself was refused (empty, too long): clean it alone
            try:
                name = form.fields["username"].clean(form.data.get("username", ""))
            except ValidationError:
                name = ""
        return (name or "")[:150]


@require_POST
def logout_view(request):
    audit.record(request.user, AuditAction.LOGOUT, "session")
    logout(request)
    messages.success(request, "You have been logged out.")
    return redirect("core:login")


DAY_ROLES = (Role.THERAPIST, Role.OWNER)


def home(request):
    # A therapist's home is their day; an owner's is the practice's; others have none.
    role = request.user.role
    sections = home_sections.collect(request.user, role == Role.THERAPIST) if role in DAY_ROLES else []
    context = {"nav": "home", "sections": sections}
    if permissions.has_permission(request.user, "staff.manage"):
        context["lockouts"] = access.access_recent_lockouts(request.user)
        context["break_glass"] = access.access_recent_break_glass(request.user)
    return render(request, "core/home.html", context)


# Profile and API tokens ------------------------------------------------------


def profile(request):
    new_token = None
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new_token_row, new_token = actions.do_create_api_token(
                request.user, form.cleaned_data["name"], read_only=form.cleaned_data["read_only"]
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            form = ApiTokenForm()
    tokens = request.user.api_tokens.all()
    context = {"form": form, "tokens": tokens, "new_token": new_token, "token_days": settings.EFFLEURA_API_TOKEN_DAYS}
    context.update(mfa_views.second_factor_context(request))
    if new_token:
        context["new_token_row"] = new_token_row
    return render(request, "core/profile.html", context)


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


# Automatic logoff (core/idle.py) ----------------------------------------------------


def _session_state(request) -> dict:
    if not request.user.is_authenticated:
        return {"signed_in": False}
    idle_left, maximum_left = idle.seconds_left(request.session, timezone.now())
    return {"signed_in": True, "idle_seconds_left": int(idle_left), "maximum_seconds_left": int(maximum_left)}


def favicon(request):
    """``/favicon.ico``, which browsers and tools ask for whatever the page links: the
    practice's icon from the static files (hashed, cached), never a 404 in the log."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    response = redirect(static("core/favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


def session_status(request):
    """The page's background poll (core/static/core/idle.js): is the session still on,
    and for how long? Not counted as activity (IdleLogoutMiddleware)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return JsonResponse(_session_state(request))


class PasswordChangeCountedView(auth_views.PasswordChangeView):
    """Django's password change, whose current-password check counts a wrong one toward
    the lockout (PasswordChangeRevokingForm.clean_old_password)."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


@require_POST
def session_stay(request):
    """ "Stay signed in": counts as activity, whatever the stamp's age. Without script
    (a plain form post) it goes back to the page it came from."""
    idle.note_activity(request.session, timezone.now(), force=True)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(_session_state(request))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("core:home")
    return redirect(back)


@require_POST
def session_end(request):
    """The page's idle time (or the session's maximum) ran out in the browser: end the
    session now, as the server would a minute later."""
    reason = idle.MAXIMUM if request.POST.get("logoff_reason") == idle.MAXIMUM else idle.IDLE
    idle.end(request, reason)
    messages.info(request, idle.signed_out_message(reason))
    return JsonResponse({"signed_in": False})


# Staff --------------------------------------------------------------------------


class StaffForm(forms.ModelForm):
    password = forms.CharField(
        label="New password",
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text="At least 12 characters, not a common password, not like the name, not one character "
        "repeated. Leave empty to keep the current one (a new account without one signs in after a password "
        "reset by email). A new password or a deactivation revokes the account's API tokens.",
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "credentials", "npi", "email", "role", "is_active"]
        labels = {"is_active": "Active (may sign in)", "role": "Role"}
        help_texts = {"username": "Letters, digits and @ . + - _ only.", "role": "Leave empty to suspend access."}


def staff_list(request):
    staff = list(access.access_staff_list(request.user))
    locks = lockout.locked_accounts(member.username for member in staff)
    for member in staff:
        member.lock = locks.get(member.username)
    return render(request, "core/staff_list.html", {"staff": staff, "nav": "staff", "roles": Role})


@require_POST
def staff_unlock(request, user_id):
    member = access.access_staff_member(request.user, user_id)
    actions.check_unlock_account(request.user, member)
    if actions.do_unlock_account(request.user, member):
        messages.success(request, f"Unlocked {member.display_name}: they can sign in again now.")
    else:
        messages.success(request, f"{member.display_name} was not locked; their failed sign-ins are cleared.")
    return redirect("core:staff_list")


@require_POST
def address_unlock(request):
    """Lift the sign-in pause of a client address (the owner's home, "Recent lockouts")."""
    access.authorize(request.user, "staff.manage", record_id=request.POST.get("address", "")[:64])
    try:
        address = actions.check_unlock_address(request.user, request.POST.get("address", ""))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("core:home")
    if actions.do_unlock_address(request.user, address):
        messages.success(request, f"Signing in from {address} works again now.")
    else:
        messages.success(request, f"Sign-ins from {address} were not paused; their failures are cleared.")
    return redirect("core:home")


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
    lock = lockout.locked_accounts([member.username]).get(member.username) if member else None
    context = {"form": form, "member": member, "nav": "staff", "lock": lock}
    context["member_has_mfa"] = member is not None and mfa.has_second_factor(member)
    return render(request, "core/staff_form.html", context)


# Practice -----------------------------------------------------------------------


class PracticeForm(VersionedForm, forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")
    mfa_required_roles = forms.MultipleChoiceField(
        label="Roles that must use two-factor sign-in",
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=Practice._meta.get_field("mfa_required_roles").help_text,
    )

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


PATIENT_MATCHES = 10  # the most patients a name typed into the filter offers to pick from


def _staff_label(member: User) -> str:
    name = member.get_full_name() or member.username
    left = "" if member.is_active else ", no longer active"
    return f"{name} ({audit_text.role_label(member.role)}{left})"


class AuditFilterForm(forms.Form):
    """The audit trail's filters. The patient is typed as a name (or chart number) and
    found by the patient search; several matches are offered to pick from, and the one
    picked travels as its id (``patient``), as the links of the page's rows do."""

    patient_name = forms.CharField(required=False, max_length=100, label="Patient", help_text="A name or chart number.")
    patient = forms.UUIDField(required=False, widget=forms.HiddenInput)
    user = forms.ChoiceField(required=False, label="Staff member")
    action = forms.ChoiceField(choices=[("", "Any"), *audit_text.ACTION_LABELS.items()], required=False)
    outcome = forms.ChoiceField(
        choices=[("", "Any"), (AuditOutcome.ALLOWED, "Allowed"), (AuditOutcome.DENIED, "Refused")], required=False
    )
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, viewer, staff: list[User]):
        super().__init__(data)
        self.viewer = viewer
        self.staff = {str(member.public_id): member for member in staff}
        self.fields["user"].choices = [("", "Anyone"), *((key, _staff_label(m)) for key, m in self.staff.items())]
        self.matches: list[tuple] = []  # the patients a typed name matched, to pick one

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError("The “From” date must be before the “To” date.")
        data["actor"] = self.staff.get(data.get("user") or "")
        name = (data.get("patient_name") or "").strip()
        if name:  # a name typed: a new search, whoever was picked before
            data["patient"] = None
            found = patient_finder.first(self.viewer, name, PATIENT_MATCHES + 1) or []
            if not found:
                self.add_error("patient_name", f"No patient matches “{name}”. Try part of the last name.")
            elif len(found) == 1:
                data["patient"] = found[0][0]
            else:
                self.matches = found[:PATIENT_MATCHES]
                more = " (the first ten)" if len(found) > PATIENT_MATCHES else ""
                self.add_error("patient_name", f"Several patients match “{name}”{more}: pick one below.")
        return data


def _filters(form: AuditFilterForm) -> access.AuditFilters | None:
    """The filters asked for; None when they do not validate (nothing is shown)."""
    if not form.is_bound:
        return access.AuditFilters()
    if not form.is_valid():
        return None
    data = form.cleaned_data
    return access.AuditFilters(
        patient_id=data["patient"],
        actor=data["actor"],
        start=data["start"],
        end=data["end"],
        outcome=data["outcome"],
        action=data["action"],
    )


def _audit_staff() -> list[User]:
    """Every account the trail can name, for the filter and the rows: one query."""
    return list(
        User.objects.order_by("first_name", "last_name", "username").only(
            "public_id", "username", "first_name", "last_name", "role", "is_active"
        )
    )


class _AuditNames:
    """Who and which patient each entry is about, in words: staff by their name and role,
    patients by name and chart number for a viewer whose role may see patients (else a
    short id). One query for the patients of a whole page (or batch of the export)."""

    def __init__(self, viewer, staff: list[User]):
        self.staff = {member.pk: member for member in staff}
        self.show_patients = permissions.has_permission(viewer, "patient.view")

    def patients(self, patient_ids) -> dict:
        wanted = {pid for pid in patient_ids if pid}
        if not wanted or not self.show_patients:
            return {}
        return patient_labels.first(wanted) or {}

    def who(self, actor_id, username: str, role: str) -> tuple[str, str]:
        member = self.staff.get(actor_id)
        if member is not None:
            return member.get_full_name() or member.username, audit_text.role_label(member.role)
        if username:  # an account since removed: the name the entry kept
            return username, audit_text.role_label(role) if role else ""
        return "Not signed in", ""

    @staticmethod
    def patient(labels: dict, patient_id) -> str:
        if not patient_id:
            return ""
        return labels.get(patient_id) or f"Patient {str(patient_id)[:8]}"


@dataclass(frozen=True)
class AuditRow:
    """One entry of the audit page, in words."""

    event: object
    who: str
    role: str
    what: str
    detail: str
    patient: str


def _audit_rows(names: _AuditNames, events, labels: dict) -> list[AuditRow]:
    rows = []
    for e in events:
        who, role = names.who(e.actor_id, e.actor_username, e.actor_role)
        what = audit_text.describe(e.action, e.record_type, e.outcome)
        detail = audit_text.extra_detail(e.detail)
        rows.append(AuditRow(e, who, role, what, detail, names.patient(labels, e.patient_id)))
    return rows


def audit_list(request):
    # The filters alone bind the form: a bare ?before= (a page link of the whole trail) is
    # still the unfiltered trail.
    query = request.GET.copy()
    for name in ("before", "after", "page"):  # "page": a page number of old links
        query.pop(name, None)
    staff = _audit_staff()
    form = AuditFilterForm(query or None, viewer=request.user, staff=staff)
    filters = _filters(form)
    if filters and filters.patient_id and query.get("patient_name"):
        # A name found one patient: the page's address names them by id from now on, so a
        # saved link, the page links and the export keep to that patient.
        query.pop("patient_name")
        query["patient"] = str(filters.patient_id)
        return redirect(f"{reverse('core:audit_list')}?{query.urlencode()}")
    page = access.access_audit_events(
        request.user, filters, before=request.GET.get("before", ""), after=request.GET.get("after", "")
    )
    names = _AuditNames(request.user, staff)
    chosen = filters.patient_id if filters else None
    # The chosen patient's name and those of the page's entries: one query.
    labels = names.patients([chosen, *(e.patient_id for e in page.events)])
    # The query without the patient: the chosen patient's "remove" link and the picks.
    without_patient = query.copy()
    for name in ("patient", "patient_name"):
        without_patient.pop(name, None)
    context = {
        "form": form,
        "page": page,
        "rows": _audit_rows(names, page.events, labels),
        "nav": "audit",
        "query": query.urlencode(),
        "without_patient": without_patient.urlencode(),
        "chosen_patient": names.patient(labels, chosen),
        "matches": form.matches,
        "seals": seals.status(),
    }
    return render(request, "core/audit_list.html", context)


class _Echo:
    def write(self, value):
        return value


AUDIT_CSV_COLUMNS = [
    "at", "actor_username", "actor_role", "patient_id", "record_type",
    "record_id", "action", "outcome", "client_address", "detail",
]  # fmt: skip
# In words, after the codes: who (name), which patient (name and chart number, for a role
# that may see patients), and what was done ("viewed the chart").
AUDIT_CSV_READABLE = ["staff_name", "patient_name", "description"]
AUDIT_CSV_BATCH = 1000  # rows whose patients' names are read in one query


def audit_export(request):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    staff = _audit_staff()
    form = AuditFilterForm(request.GET or None, viewer=request.user, staff=staff)
    if request.GET and not form.is_valid():
        messages.error(request, "Fix the filters before exporting.")
        return redirect(f"{reverse('core:audit_list')}?{request.GET.urlencode()}")
    columns = (*AUDIT_CSV_COLUMNS, "actor_id")
    events = access.access_audit_export(request.user, _filters(form), columns)
    names = _AuditNames(request.user, staff)
    writer = csv.writer(_Echo())
    # The rows are written after the request's zone is gone (streaming): take it now.
    # ISO 8601 with the practice's offset, e.g. 2026-12-01T10:45:00.123456-08:00.
    zone = clock.practice_zone()
    at = {name: position for position, name in enumerate(columns)}

    def line(event, labels):
        codes = [
            clock.local(v, zone).isoformat() if isinstance(v, datetime.datetime) else ("" if v is None else v)
            for v in event[: len(AUDIT_CSV_COLUMNS)]
        ]
        who, _role = names.who(event[at["actor_id"]], event[at["actor_username"]], event[at["actor_role"]])
        what = audit_text.describe(event[at["action"]], event[at["record_type"]], event[at["outcome"]])
        extra = audit_text.extra_detail(event[at["detail"]])
        patient = names.patient(labels, event[at["patient_id"]])
        return [*codes, who, patient, f"{what} ({extra})" if extra else what]

    def rows():
        yield writer.writerow([*AUDIT_CSV_COLUMNS, *AUDIT_CSV_READABLE])
        while batch := list(itertools.islice(events, AUDIT_CSV_BATCH)):
            labels = names.patients(event[at["patient_id"]] for event in batch)
            for event in batch:
                yield writer.writerow(line(event, labels))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = clock.local(timezone.now(), zone).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


# Error pages: no details, never patient data. API paths answer JSON. --------------------


def _error(request, status: int, template: str, message: str, context=None):
    if is_api(request):
        return JsonResponse({"detail": message}, status=status)
    return render(request, template, context or {}, status=status)


def bad_request(request, exception=None):
    # Django answers a body over DATA_UPLOAD_MAX_MEMORY_SIZE, or one the upload guard
    # stopped (core/request_size.py), as a bad request: it is one too large.
    if isinstance(exception, RequestDataTooBig):
        return request_size.too_large_for(request, exception)
    message = "The request could not be read; nothing was saved. Go back and try again."
    return _error(request, 400, "400.html", message, {"message": message})


def permission_denied(request, exception=None):
    if isinstance(exception, careteam.BreakGlassRequired) and not is_api(request):
        # Care-team access (core/careteam.py): the therapist may state a reason to proceed.
        back = request.get_full_path() if request.method == "GET" else ""
        return render(request, "core/break_glass.html", careteam.page_context(exception.patient_id, back), status=403)
    message = "Your role does not allow this."
    return _error(request, 403, "403.html", message, {"reason": "Your role does not allow this page."})


def not_found(request, exception=None):
    if isinstance(exception, StoredFileMissing):  # the record is there, its file is not
        return _error(request, 404, "404.html", str(exception), {"missing_file": str(exception)})
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
