from django import forms
from django.contrib.auth.forms import PasswordResetForm
from django.template import loader

from effleura.core.tasks import send_email


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
