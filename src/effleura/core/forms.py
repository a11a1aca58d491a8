import datetime
from dataclasses import dataclass, field

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.template import loader
from django.utils import formats, timezone

from effleura.core import passwords
from effleura.core.choices import AuditAction
from effleura.core.models import AuditEvent, User
from effleura.core.tasks import send_email
from effleura.core.versions import StaleVersion, parse_posted

SNAPSHOT_SALT = "effleura.core.forms.loaded"
LONGEST_SHOWN = 300  # a changed long text is shown cut to this many characters

# A form field over its limit is refused in clean_text's words (core/values.py), so the
# form and the API say the same: ``forms.CharField(max_length=..., error_messages=TOO_LONG)``.
TOO_LONG = {"max_length": "Keep this under %(limit_value)s characters."}


def apply_errors(form, exc: ValidationError) -> None:
    """Put an action's ValidationError beside the fields it names, the rest on top.

    Every page shows an action's refusal this way, so a check_*() that names a field the
    form does not have still reaches the person (as a form-wide error). A field the form
    itself already refused keeps the form's message alone (one problem, one message). A
    ``StaleVersion`` (someone else saved the record meanwhile) becomes the form's
    conflict notice instead: see show_conflict()."""
    if isinstance(exc, StaleVersion):
        show_conflict(form, exc)
        return
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            if field in form.fields and field in form.errors:
                continue
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def accepted_values(form) -> dict:
    """After ``form.is_valid()`` was False: the cleaned value of every field the form
    accepted, leaving out the fields it refused. A view hands these to the action's check
    so its problems (a wrong NPI, a phone number nobody can call) are listed together with
    the form's own in one pass, instead of one more problem on each submit."""
    # An empty POST leaves a form unbound: nothing was typed, nothing to check.
    cleaned = getattr(form, "cleaned_data", {})
    return {name: value for name, value in cleaned.items() if name not in form.errors}


def check_refused_form(form, check) -> None:
    """For a form that ``is_valid()`` refused: run ``check(accepted_values(form))`` and put
    its refusal beside the fields too. Nothing is saved either way."""
    if not form.is_bound:
        return
    try:
        check(accepted_values(form))
    except ValidationError as exc:
        apply_errors(form, exc)


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the email goes through the task queue so a slow mail
    server never holds up the page (and never reveals whether the address exists)."""

    def send_mail(
        self, subject_template_name, email_template_name, context, from_email, to_email, html_email_template_name=None
    ):
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = loader.render_to_string(html_email_template_name, context) if html_email_template_name else None
        send_email.enqueue(subject=subject, body=body, to=[to_email], html_body=html)

    def get_users(self, email):
        # Audited and limited per address and per account (core/passwords.py): over a
        # limit no email goes out, and the page answers exactly the same.
        return passwords.do_request_password_reset(email, list(super().get_users(email)))


class PasswordChangeRevokingForm(PasswordChangeForm):
    """Django's change form, audited, and offering to revoke one's API tokens (on by
    default: whoever learned the old password may have made one)."""

    revoke_tokens = forms.BooleanField(
        label="Also revoke my API tokens",
        required=False,
        initial=True,
        help_text="Programs using them stop working and need a new token from your profile page.",
    )

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        """The current password, checked like a sign-in (core/signin.py check_password):
        refused while the account is locked, and a wrong one counts toward the lockout."""
        if self.request is None:
            return super().clean_old_password()
        from effleura.core import signin

        old_password = self.cleaned_data["old_password"]
        if not signin.check_password(self.request, self.user, old_password):
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password

    def save(self, commit=True):
        passwords.do_set_password(
            self.user,
            self.user,
            self.cleaned_data["new_password1"],
            how="changed",
            revoke_tokens=self.cleaned_data["revoke_tokens"],
        )
        return self.user


class SetPasswordRevokingForm(SetPasswordForm):
    """The reset link's form: the new password is audited and every API token of the
    account is revoked (whoever needed a reset may have lost control of the account)."""

    def save(self, commit=True):
        passwords.do_set_password(
            self.user, self.user, self.cleaned_data["new_password1"], how="reset by email link", revoke_tokens=True
        )
        return self.user


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Token name", help_text="What the token is for, e.g. 'reporting script'."
    )
    read_only = forms.BooleanField(
        label="Read-only", required=False, help_text="The token may read records but never change anything."
    )


# Versions -----------------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    was: str  # what the person's page showed when they opened it
    now: str  # what the other person saved
    mine: bool = False  # the person changed it too: their input is kept in the form


@dataclass
class Conflict:
    """Shown above a form whose save was refused because the record changed meanwhile."""

    what: str
    version: int
    by: str = ""
    at: datetime.datetime | None = None
    changes: list[Change] = field(default_factory=list)


class VersionedForm(forms.Form):
    """A mixin for a form that edits a versioned record (``class F(VersionedForm,
    forms.ModelForm)``): two hidden fields carry the version the page was loaded with and
    a signed snapshot of the values it showed, so a refused save can say what changed.

    In the view: ``form.load_version(record, fields)`` after making the form; pass
    ``form.expected_version()`` to the do_* function; hand its ValidationError to
    apply_errors() as usual (a StaleVersion becomes ``form.conflict``)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    loaded = forms.CharField(widget=forms.HiddenInput, required=False)

    conflict: Conflict | None = None

    def load_version(self, record, fields, *, what: str = "record", initial=None) -> None:
        """Remember which record and fields this form edits; an unbound form is filled
        with ``record``'s version and a snapshot of ``fields`` as it shows them now.
        ``initial(record)``, when given, is how the form is filled from a record (its
        ``initial``): a conflict takes the other person's values from it."""
        self.version_record, self.version_fields, self.version_what = record, list(fields), what
        self.version_initial = initial
        if not self.is_bound:
            self.initial["version"] = record.version
            self.initial["loaded"] = signed_snapshot(record, self.version_fields)

    def expected_version(self) -> int | None:
        """The version the person's page was loaded with (None if the page sent none)."""
        if not self.is_bound:
            return None
        return parse_posted(self.data.get(self.add_prefix("version")))


def show_conflict(form, exc: StaleVersion, fields=None) -> None:
    """Tell the person that someone else saved the record after they opened it: who, when,
    and each field they changed (what the page showed, what it is now).

    The form is then rebased on the current version: a field the person left as it was
    takes the other person's value; a field the person changed keeps their input (marked
    when both changed it). So saving again, after looking, applies exactly the person's
    own edits on top of the other person's, knowingly."""
    current = exc.current
    fields = list(fields or getattr(form, "version_fields", None) or [])
    try:
        loaded = signing.loads(form.data.get(form.add_prefix("loaded"), ""), salt=SNAPSHOT_SALT)
    except (signing.BadSignature, TypeError, ValueError):
        loaded = {}
    now = snapshot(current, fields)
    cleaned = getattr(form, "cleaned_data", None) or {}
    data = form.data.copy()
    initial_of = getattr(form, "version_initial", None)
    theirs = initial_of(current) if initial_of is not None else None
    changes = []
    for name in fields:
        if name not in loaded or loaded[name] == now[name]:
            continue
        mine = name in cleaned and _display(current, name, cleaned[name]) != loaded[name]
        changes.append(Change(_label(form, current, name), _cut(loaded[name]), _cut(now[name]), mine))
        if not mine and name in form.fields:
            take_theirs(form, data, name, current, theirs)
    what = getattr(form, "version_what", "") or exc.what
    form.conflict = Conflict(what=what, version=current.version, changes=changes, **_last_writer(current))
    data[form.add_prefix("version")] = str(current.version)
    data[form.add_prefix("loaded")] = signing.dumps(now, salt=SNAPSHOT_SALT, compress=True)
    form.data = data


def take_theirs(form, data, name: str, current, initial: dict | None = None) -> None:
    """Put ``current``'s value of ``name`` into the bound form's ``data``, as its widget posts
    it (from ``initial``, the form's initial for ``current``, when it has the field)."""
    field = form.fields[name]
    key = form.add_prefix(name)
    try:
        model_field = current._meta.get_field(name)
        # A relation as the record itself: a choice field posts it by its to_field_name.
        value = getattr(current, name) if model_field.many_to_one else model_field.value_from_object(current)
    except FieldDoesNotExist:
        value = getattr(current, name, None)
    if initial is not None and name in initial:
        value = initial[name]
    if isinstance(field.widget, forms.CheckboxInput):
        if value:
            data[key] = "on"
        else:
            data.pop(key, None)
        return
    prepared = field.prepare_value(value)
    if isinstance(prepared, list | tuple):
        data.setlist(key, [str(item) for item in prepared])
    elif prepared is None:
        data[key] = ""
    elif isinstance(prepared, datetime.date):
        data[key] = prepared.isoformat()
    else:
        data[key] = str(prepared)


def conflict_status(form) -> int:
    """The status a page answers with: 409 when its save was refused for a newer version."""
    return 409 if getattr(form, "conflict", None) else 200


def snapshot(record, fields) -> dict[str, str]:
    """The ``fields`` of ``record`` as a person reads them (choice labels, Yes/No, dates)."""
    return {name: _shown(record, name) for name in fields}


def signed_snapshot(record, fields) -> str:
    return signing.dumps(snapshot(record, fields), salt=SNAPSHOT_SALT, compress=True)


def _shown(record, name: str) -> str:
    return _display(record, name, getattr(record, name, None))


def _display(record, name: str, value) -> str:
    """``value`` of ``record``'s field ``name`` as a person reads it."""
    try:
        model_field = record._meta.get_field(name)
    except FieldDoesNotExist:
        model_field = None
    if model_field is not None and model_field.choices and not isinstance(value, list | tuple):
        value = dict(model_field.flatchoices).get(value, value)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        # A form's naive input is already local time.
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return formats.date_format(local, "DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return formats.date_format(value, "DATE_FORMAT")
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "—"
    if hasattr(value, "all") and callable(value.all):  # a many-to-many manager
        return ", ".join(str(item) for item in value.all()) or "—"
    # A browser posts line breaks as CR LF; text saved through the API has LF: the same text.
    return str(value).replace("\r\n", "\n")


def _label(form, record, name: str) -> str:
    if name in form.fields and form.fields[name].label:
        return str(form.fields[name].label)
    try:
        return str(record._meta.get_field(name).verbose_name).capitalize()
    except FieldDoesNotExist:
        return name.replace("_", " ").capitalize()


def _cut(text: str) -> str:
    return text if len(text) <= LONGEST_SHOWN else text[: LONGEST_SHOWN - 1] + "…"


def _last_writer(record) -> dict:
    """Who saved ``record`` last and when, from the audit trail (never from the record)."""
    public_id = getattr(record, "public_id", None)
    if public_id is None:
        return {}
    # Each action on its own, so each part walks its partial index (AuditEvent.Meta.indexes).
    changes = AuditEvent.objects.filter(record_id=str(public_id)).order_by()
    updates, creations = changes.filter(action=AuditAction.UPDATE), changes.filter(action=AuditAction.CREATE)
    event = updates.union(creations, all=True).order_by("-at", "-id").first()
    if event is None:
        return {}
    user = User.objects.filter(pk=event.actor_id).first() if event.actor_id else None
    return {"by": user.display_name if user else event.actor_username, "at": event.at}
