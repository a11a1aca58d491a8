from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.template import loader

from effleura.core.tasks import send_email

# A form field over its limit is refused in clean_text's words (core/values.py), so the
# form and the API say the same: ``forms.CharField(max_length=..., error_messages=TOO_LONG)``.
TOO_LONG = {"max_length": "Keep this under %(limit_value)s characters."}


def apply_errors(form, exc: ValidationError) -> None:
    """Put an action's ValidationError beside the fields it names, the rest on top.

    Every page shows an action's refusal this way, so a check_*() that names a field the
    form does not have still reaches the person (as a form-wide error). A field the form
    itself already refused keeps the form's message alone (one problem, one message)."""
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


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Token name", help_text="What the token is for, e.g. 'reporting script'."
    )
