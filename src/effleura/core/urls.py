from django.contrib.auth import views as auth_views
from django.urls import path, register_converter, reverse_lazy

from effleura.core import mfa_views, views
from effleura.core.forms import PasswordChangeRevokingForm, QueuedPasswordResetForm, SetPasswordRevokingForm
from effleura.core.url_converters import Sha256Converter

app_name = "core"
register_converter(Sha256Converter, "sha256")

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/second-factor/", mfa_views.second_factor, name="second_factor"),
    path("logout/", views.logout_view, name="logout"),
    path(
        "password/change/",
        views.PasswordChangeCountedView.as_view(
            form_class=PasswordChangeRevokingForm, success_url=reverse_lazy("core:password_change_done")
        ),
        name="password_change",
    ),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            form_class=QueuedPasswordResetForm,
            success_url=reverse_lazy("core:password_reset_done"),
        ),
        name="password_reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            form_class=SetPasswordRevokingForm, success_url=reverse_lazy("core:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("profile/", views.profile, name="profile"),
    path("profile/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("profile/two-factor/prove/", mfa_views.prove_it_is_you, name="mfa_prove"),
    path("profile/two-factor/app/", mfa_views.totp_start, name="mfa_totp_start"),
    path("profile/two-factor/app/confirm/", mfa_views.totp_confirm, name="mfa_totp_confirm"),
    path("profile/two-factor/app/remove/", mfa_views.totp_remove, name="mfa_totp_remove"),
    path("profile/two-factor/recovery-codes/", mfa_views.recovery_codes, name="mfa_recovery_codes"),
    path(
        "profile/two-factor/passkeys/<sha256:passkey_id>/rename/", mfa_views.passkey_rename, name="mfa_passkey_rename"
    ),
    path(
        "profile/two-factor/passkeys/<sha256:passkey_id>/remove/", mfa_views.passkey_remove, name="mfa_passkey_remove"
    ),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_create, name="staff_create"),
    path("staff/<uuid:user_id>/", views.staff_edit, name="staff_edit"),
    path("staff/<uuid:user_id>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("lockouts/address/unlock/", views.address_unlock, name="address_unlock"),
    path("staff/<uuid:user_id>/reset-two-factor/", mfa_views.reset_second_factor, name="mfa_reset"),
    path("practice/", views.practice_settings, name="practice"),
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
    path("hand-over/end/", views.handover_end, name="handover_end"),
    # Automatic logoff (core/idle.py): the page's poll, "Stay signed in", and the end.
    path("session/status/", views.session_status, name="session_status"),
    path("session/stay/", views.session_stay, name="session_stay"),
    path("session/end/", views.session_end, name="session_end"),
]
