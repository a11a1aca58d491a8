"""django-otp-webauthn's endpoints under its own namespace (``otp_webauthn``), so its
template tags and scripts find them, served by our narrowed views (core/mfa_views.py)."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from effleura.core import mfa_views

app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", mfa_views.PasskeyRegistrationBegin.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/",
        mfa_views.PasskeyRegistrationComplete.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        mfa_views.PasskeyAuthenticationBegin.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        mfa_views.PasskeyAuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    # The scripts' words (gettext); a static script, allowed by a strict CSP.
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
