"""The one table that decides who may see or change what.

Two parts:

* ``RULES``: each permission key, the roles that hold it, and how a use of it is
  audited (the action and the record type). access_* and check_* functions ask
  ``require()``; nothing checks roles by hand.
* ``URL_RULES``: every named URL (web pages and API operations) and the permission
  each HTTP method needs. ``PermissionMiddleware`` enforces it before any view runs,
  so a page cannot forget its check, and a URL with no entry is refused (fail closed).
  tests/core/test_permissions.py walks every URL with every role against this table.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from effleura.core.choices import AuditAction, Role

OWNER, THERAPIST, FRONT_DESK, BILLING = Role.OWNER, Role.THERAPIST, Role.FRONT_DESK, Role.BILLING
ALL_STAFF = frozenset(Role)
CLINICAL = frozenset({OWNER, THERAPIST})


@dataclass(frozen=True)
class Rule:
    roles: frozenset
    action: str
    record_type: str
    # Whether using it touches patient data and so must be audited.
    patient_data: bool = True


def _rule(roles, action, record_type, patient_data=True) -> Rule:
    return Rule(frozenset(roles), action, record_type, patient_data)


RULES: dict[str, Rule] = {
    # Demographics: everyone on staff; clinical content is separate below.
    "patient.view": _rule(ALL_STAFF, AuditAction.READ, "patient"),
    "patient.create": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.CREATE, "patient"),
    "patient.update": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.UPDATE, "patient"),
    # Emergency access past the care-team limit (core/careteam.py): the only role it limits.
    "patient.break_glass": _rule({THERAPIST}, AuditAction.CREATE, "break_glass"),
    # Clinical content: front desk and billing never see it.
    "health_history.view": _rule(CLINICAL, AuditAction.READ, "health_history"),
    "health_history.create": _rule(CLINICAL, AuditAction.CREATE, "health_history"),
    # Consent status is needed at the desk; patients often sign at check-in.
    "consent.view": _rule(ALL_STAFF, AuditAction.READ, "consent"),
    "consent.capture": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.CREATE, "consent"),
    "consent.withdraw": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.UPDATE, "consent"),
    # The clinical record (episodes, assessments, plans, notes, measures, home care,
    # screening flags): clinicians only. Front desk and billing never see any of it.
    "clinical.view": _rule(CLINICAL, AuditAction.READ, "clinical_record"),
    "clinical.write": _rule(CLINICAL, AuditAction.UPDATE, "clinical_record"),
    "clinical.print": _rule(CLINICAL, AuditAction.PRINT, "clinical_record"),
    "knowledge.view": _rule(CLINICAL, AuditAction.READ, "knowledge_base", False),
    # Referrals and reports. Providers are contacts every role may look up. Referrals are
    # read by every role: billing bills against the authorization and front desk books
    # within it. Reports back to the provider carry clinical content: clinicians only.
    "provider.view": _rule(ALL_STAFF, AuditAction.READ, "referring_provider", False),
    "provider.manage": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.UPDATE, "referring_provider", False),
    "referral.view": _rule(ALL_STAFF, AuditAction.READ, "referral"),
    "referral.manage": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.UPDATE, "referral"),
    "report.view": _rule(CLINICAL, AuditAction.READ, "report"),
    "report.write": _rule(CLINICAL, AuditAction.UPDATE, "report"),
    "report.print": _rule(CLINICAL, AuditAction.PRINT, "report"),
    "report.send": _rule(CLINICAL, AuditAction.EXPORT, "report"),
    # Scheduling. Appointments name the patient, so they are patient data (audited); the
    # calendar shows no clinical content, so every role may read it.
    "schedule.view": _rule(ALL_STAFF, AuditAction.READ, "appointment"),
    "appointment.book": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.CREATE, "appointment"),
    "appointment.change": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.UPDATE, "appointment"),
    # Undo a status change someone else made (anyone with appointment.change undoes their own).
    "appointment.undo_any": _rule({OWNER}, AuditAction.UPDATE, "appointment"),
    "waitlist.view": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.READ, "waitlist_entry"),
    "waitlist.manage": _rule({OWNER, THERAPIST, FRONT_DESK}, AuditAction.UPDATE, "waitlist_entry"),
    "scheduling_setup.view": _rule(ALL_STAFF, AuditAction.READ, "scheduling_setup", False),
    "scheduling_setup.manage": _rule({OWNER}, AuditAction.UPDATE, "scheduling_setup", False),
    # A practitioner's own calendar subscription (iCalendar feed).
    "calendar_feed.manage": _rule({OWNER, THERAPIST}, AuditAction.UPDATE, "calendar_feed", False),
    # Billing (billing/). Billing staff and owners run it. The front desk sees a patient's
    # account (balance, invoices, payments, packages, policies), takes payments, sells
    # packages, enters insurance cards and prints superbills. Therapists see the charges
    # of their own visits (and adjust them, with a reason) and their own production only:
    # access_* narrows "charge.*" and "production.view" to the actor's own unless they
    # also hold "billing.view" (billing/access.py).
    "billing_setup.view": _rule(ALL_STAFF, AuditAction.READ, "billing_setup", False),
    "billing_setup.manage": _rule({OWNER, BILLING}, AuditAction.UPDATE, "billing_setup", False),
    "billing.view": _rule({OWNER, BILLING}, AuditAction.READ, "billing"),
    "billing.manage": _rule({OWNER, BILLING}, AuditAction.UPDATE, "billing"),
    "charge.view": _rule({OWNER, THERAPIST, BILLING}, AuditAction.READ, "charge"),
    "charge.adjust": _rule({OWNER, THERAPIST, BILLING}, AuditAction.UPDATE, "charge"),
    "account.view": _rule({OWNER, FRONT_DESK, BILLING}, AuditAction.READ, "patient_account"),
    "payment.take": _rule({OWNER, FRONT_DESK, BILLING}, AuditAction.CREATE, "payment"),
    # Voiding a payment or refund entered in error (billing/payments.py check_void_payment).
    "payment.void": _rule({OWNER, BILLING}, AuditAction.UPDATE, "payment"),
    "policy.manage": _rule({OWNER, FRONT_DESK, BILLING}, AuditAction.UPDATE, "policy"),
    "superbill.print": _rule({OWNER, FRONT_DESK, BILLING}, AuditAction.PRINT, "superbill"),
    "invoice.print": _rule({OWNER, FRONT_DESK, BILLING}, AuditAction.PRINT, "invoice"),
    "claim.view": _rule({OWNER, BILLING}, AuditAction.READ, "claim"),
    "claim.manage": _rule({OWNER, BILLING}, AuditAction.UPDATE, "claim"),
    "claim.export": _rule({OWNER, BILLING}, AuditAction.EXPORT, "claim"),
    "billing_report.view": _rule({OWNER, BILLING}, AuditAction.READ, "billing_report"),
    "billing_report.export": _rule({OWNER, BILLING}, AuditAction.EXPORT, "billing_report"),
    "production.view": _rule({OWNER, THERAPIST, BILLING}, AuditAction.READ, "production_report"),
    # Practice administration.
    "consent_document.view": _rule(ALL_STAFF, AuditAction.READ, "consent_document", False),
    "consent_document.manage": _rule({OWNER}, AuditAction.UPDATE, "consent_document", False),
    "staff.manage": _rule({OWNER}, AuditAction.UPDATE, "user", False),
    "practice.manage": _rule({OWNER}, AuditAction.UPDATE, "practice", False),
    "audit.view": _rule({OWNER}, AuditAction.READ, "audit_event", False),
    "audit.export": _rule({OWNER}, AuditAction.EXPORT, "audit_event", False),
    # Anyone signed in, whatever their role (or none): their own account.
    "account.use": _rule(set(), AuditAction.READ, "account", False),
}

# Keys every signed-in user holds, even with no role yet.
SIGNED_IN = frozenset({"account.use"})

PUBLIC = "public"  # no sign-in needed (login, password reset)


URL_RULES: dict[str, str | dict[str, str]] = {
    # core
    "core:login": PUBLIC,
    "core:favicon": PUBLIC,  # the icon browsers ask for on every page, signed in or not
    "core:logout": "account.use",
    "core:password_reset": PUBLIC,
    "core:password_reset_done": PUBLIC,
    "core:password_reset_confirm": PUBLIC,
    "core:password_reset_complete": PUBLIC,
    "core:password_change": "account.use",
    "core:password_change_done": "account.use",
    "core:profile": "account.use",
    "core:token_revoke": "account.use",
    # Two-factor sign-in (core/mfa.py). The second step comes before the sign-in completes:
    # public, it acts only on the sign-in waiting in the session.
    "core:second_factor": PUBLIC,
    "core:mfa_prove": "account.use",
    "core:mfa_totp_start": "account.use",
    "core:mfa_totp_confirm": "account.use",
    "core:mfa_totp_remove": "account.use",
    "core:mfa_recovery_codes": "account.use",
    "core:mfa_passkey_rename": "account.use",
    "core:mfa_passkey_remove": "account.use",
    "core:mfa_reset": "staff.manage",
    "otp_webauthn:credential-registration-begin": "account.use",
    "otp_webauthn:credential-registration-complete": "account.use",
    # A passkey sign-in, as the second step or passwordless: before anyone is signed in.
    "otp_webauthn:credential-authentication-begin": PUBLIC,
    "otp_webauthn:credential-authentication-complete": PUBLIC,
    "otp_webauthn:js-i18n-catalog": PUBLIC,
    "core:home": "account.use",  # shows a "no role yet" message to an account without one
    "core:staff_list": "staff.manage",
    "core:staff_create": "staff.manage",
    "core:staff_edit": "staff.manage",
    "core:staff_unlock": {"POST": "staff.manage"},
    "core:address_unlock": {"POST": "staff.manage"},
    "core:practice": "practice.manage",
    "core:audit_list": "audit.view",
    "core:audit_export": "audit.export",
    "core:handover_end": "account.use",  # leaving hand-over mode (core/handover.py)
    # Automatic logoff (core/idle.py). The poll answers anyone: signed out is an answer.
    "core:session_status": PUBLIC,
    "core:session_stay": "account.use",
    "core:session_end": "account.use",
    # patients
    "patients:list": "patient.view",
    "patients:search": "patient.view",
    "patients:create": "patient.create",
    "patients:chart": "patient.view",
    "patients:edit": "patient.update",
    "patients:break_glass": {"POST": "patient.break_glass"},
    "patients:history": "health_history.view",
    "patients:history_new": "health_history.create",
    "patients:history_version": "health_history.view",
    "patients:consent_capture": "consent.capture",
    "patients:consent_withdraw": "consent.withdraw",
    "patients:consent_documents": "consent_document.view",
    "patients:consent_document_new": "consent_document.manage",
    "patients:consent_document": {"GET": "consent_document.view", "POST": "consent_document.manage"},
    "patients:consent_document_version_new": "consent_document.manage",
    "patients:handover": "consent.capture",
    "patients:handover_start": {"POST": "consent.capture"},
    # scheduling: calendar and appointments (scheduling/views/calendar.py)
    "scheduling:day": "schedule.view",
    "scheduling:week": "schedule.view",
    "scheduling:today": "schedule.view",
    "scheduling:book": {"GET": "appointment.book", "POST": "appointment.book"},
    "scheduling:book_slots": "appointment.book",
    "scheduling:book_patients": "appointment.book",
    "scheduling:appointment": "schedule.view",
    "scheduling:reschedule": {"GET": "appointment.change", "POST": "appointment.change"},
    "scheduling:cancel": {"GET": "appointment.change", "POST": "appointment.change"},
    "scheduling:status": {"POST": "appointment.change"},
    "scheduling:undo": {"POST": "appointment.change"},
    # scheduling: series and waitlist (scheduling/views/series.py, waitlist.py)
    "scheduling:series_new": {"GET": "appointment.book", "POST": "appointment.book"},
    "scheduling:series": "schedule.view",
    "scheduling:series_cancel": {"POST": "appointment.change"},
    "scheduling:waitlist": "waitlist.view",
    "scheduling:waitlist_add": {"GET": "waitlist.view", "POST": "waitlist.manage"},
    "scheduling:waitlist_remove": {"POST": "waitlist.manage"},
    "scheduling:waitlist_matches": "waitlist.view",
    "scheduling:waitlist_book": {"POST": "appointment.book"},
    # scheduling: set-up (scheduling/views/setup.py) and calendar feed (feed.py)
    "scheduling:setup": "scheduling_setup.view",
    "scheduling:policy": {"GET": "scheduling_setup.manage", "POST": "scheduling_setup.manage"},
    "scheduling:practitioner_hours": "scheduling_setup.view",
    # The set-up resources' pages (<name>_new, _edit, _delete) are added from their specs
    # (scheduling/resources.py) by core.resources.register().
    "scheduling:feed": "calendar_feed.manage",
    "scheduling:feed_revoke": {"POST": "calendar_feed.manage"},
    "scheduling:feed_ics": PUBLIC,  # the secret key in the address authenticates (scheduling/feed.py)
    # clinical: episodes, plans and discharge (clinical/views/episodes.py, plans.py)
    "clinical:patient": "clinical.view",
    "clinical:episode_new": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:episode": "clinical.view",
    "clinical:discharge": {"GET": "clinical.view", "POST": "clinical.write"},
    "clinical:episode_plans": "clinical.view",
    "clinical:plan_new": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:plan_screening": "clinical.view",
    "clinical:plan": "clinical.view",
    "clinical:plan_schedule": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:goal_status": {"POST": "clinical.write"},
    "clinical:diagnosis_search": "knowledge.view",
    # clinical: assessments and body chart (clinical/views/assessments.py)
    "clinical:assessments": "clinical.view",
    "clinical:assessment_new": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:assessment": "clinical.view",
    "clinical:assessment_edit": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:assessment_sign": {"GET": "clinical.write", "POST": "clinical.write"},
    # clinical: session notes (clinical/views/notes.py)
    "clinical:note_new": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:note": "clinical.view",
    "clinical:note_edit": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:note_sign": {"POST": "clinical.write"},
    "clinical:note_addendum": {"POST": "clinical.write"},
    "clinical:note_autosave": {"POST": "clinical.write"},
    "clinical:note_discard": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:episode_notes": "clinical.view",
    "clinical:note_templates": "clinical.view",
    "clinical:note_template_new": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:note_template": {"GET": "clinical.view", "POST": "clinical.write"},
    # clinical: outcome measures and home care (clinical/views/measures.py, homecare.py)
    "clinical:measures": "clinical.view",
    "clinical:measure_new": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:measurement": "clinical.view",
    "clinical:homecare": "clinical.view",
    "clinical:homecare_edit": {"GET": "clinical.write", "POST": "clinical.write"},
    "clinical:homecare_pdf": "clinical.print",
    # clinical: knowledge base (clinical/views/knowledge.py)
    "clinical:knowledge": "knowledge.view",
    # referrals: providers and referrals (referrals/views/providers.py, referrals.py)
    "referrals:providers": "provider.view",
    "referrals:provider_search": "provider.view",
    "referrals:provider": "provider.view",
    # provider_new and provider_edit come from the provider's spec (referrals/resources.py).
    "referrals:provider_active": {"POST": "provider.manage"},
    "referrals:patient_referrals": "referral.view",
    "referrals:referral_new": {"GET": "referral.manage", "POST": "referral.manage"},
    "referrals:diagnosis_search": "referral.manage",
    "referrals:referral": "referral.view",
    "referrals:referral_edit": {"GET": "referral.manage", "POST": "referral.manage"},
    "referrals:referral_original": "referral.view",
    "referrals:referral_earlier_scan": "referral.view",
    "referrals:referral_original_upload": {"POST": "referral.manage"},
    "referrals:referral_original_remove": {"POST": "referral.manage"},
    "referrals:referral_close": {"POST": "referral.manage"},
    "referrals:running_out": "referral.view",  # referrals/views/authorizations.py
    # referrals: reports and forms (referrals/views/reports.py)
    "referrals:permission_form": "referral.view",
    "referrals:episode_reports": "report.view",
    "referrals:report_new": {"GET": "report.write", "POST": "report.write"},
    "referrals:patient_reports": "report.view",
    "referrals:report": "report.view",
    "referrals:report_edit": {"GET": "report.write", "POST": "report.write"},
    "referrals:report_sign": {"POST": "report.write"},
    "referrals:report_pdf": "report.print",
    "referrals:report_send": {"GET": "report.send", "POST": "report.send"},
    # billing: codes, mapping, fee schedule, payers, package plans (billing/views/setup.py)
    "billing:setup": "billing_setup.view",
    "billing:code_active": {"POST": "billing_setup.manage"},
    "billing:technique": {"GET": "billing_setup.manage", "POST": "billing_setup.manage"},
    # The set-up resources' pages (code, payer, fee, plan: _new, _edit, _delete) are added
    # from their specs (billing/resources.py) by core.resources.register().
    # billing: charges (billing/views/charges.py)
    "billing:charges": "charge.view",
    "billing:charge": "charge.view",
    "billing:charge_adjust": {"GET": "charge.adjust", "POST": "charge.adjust"},
    "billing:charge_void": {"POST": "billing.manage"},
    # billing: accounts, invoices, payments, packages (billing/views/accounts.py)
    "billing:home": "account.view",
    "billing:account": "account.view",
    "billing:account_pay": {"POST": "payment.take"},
    "billing:account_invoice": {"POST": "payment.take"},
    "billing:account_refund": {"POST": "billing.manage"},
    "billing:payment_void": {"POST": "payment.void"},
    "billing:package_sell": {"POST": "payment.take"},
    "billing:package_cancel": {"POST": "billing.manage"},
    "billing:invoice": "account.view",
    "billing:invoice_pdf": "invoice.print",
    "billing:invoice_void": {"POST": "billing.manage"},
    "billing:invoice_credit": {"POST": "payment.take"},
    # billing: policies, superbills, claims (billing/views/insurance.py)
    "billing:policies": {"GET": "account.view", "POST": "policy.manage"},
    "billing:policy_edit": {"GET": "policy.manage", "POST": "policy.manage"},
    "billing:policy_active": {"POST": "policy.manage"},
    "billing:superbill": "superbill.print",
    "billing:superbill_period": "superbill.print",
    "billing:claims": "claim.view",
    "billing:claim_new": {"GET": "claim.manage", "POST": "claim.manage"},
    "billing:claim": "claim.view",
    "billing:claim_move": {"POST": "claim.manage"},
    "billing:claim_details": {"POST": "claim.manage"},
    "billing:claim_pdf": "claim.export",
    "billing:claim_json": "claim.export",
    "billing:claim_csv": "claim.export",
    # billing: reports (billing/views/reports.py)
    "billing:reports": "production.view",  # lists the reports the user may run
    "billing:report_revenue": "billing_report.view",
    "billing:report_revenue_csv": "billing_report.export",
    "billing:report_payments": "billing_report.view",
    "billing:report_payments_csv": "billing_report.export",
    "billing:report_aging": "billing_report.view",
    "billing:report_aging_csv": "billing_report.export",
    "billing:report_visits": "billing_report.view",
    "billing:report_visits_csv": "billing_report.export",
    "billing:report_production": "production.view",  # a therapist: their own only (billing/reports.py)
    "billing:report_production_csv": "production.view",
    # API (django-ninja operation names under the "api" namespace)
    "api:api-root": PUBLIC,
    "api:openapi-json": PUBLIC,
    "api:openapi-view": PUBLIC,
    "api:patients": {"GET": "patient.view", "POST": "patient.create"},
    "api:patient": {"GET": "patient.view", "PATCH": "patient.update"},
    "api:health_history": {"GET": "health_history.view", "POST": "health_history.create"},
    "api:health_history_versions": "health_history.view",
    "api:health_history_version": "health_history.view",
    "api:patient_consents": {"GET": "consent.view", "POST": "consent.capture"},
    # API: referrals
    "api:referring_providers": {"GET": "provider.view", "POST": "provider.manage"},
    "api:referring_provider": {"GET": "provider.view", "PATCH": "provider.manage"},
    "api:patient_referrals": {"GET": "referral.view", "POST": "referral.manage"},
    "api:referral": {"GET": "referral.view", "PATCH": "referral.manage"},
    "api:referral_original": {"POST": "referral.manage", "DELETE": "referral.manage"},
    "api:referral_close": {"POST": "referral.manage"},
    "api:episode_reports": {"GET": "report.view", "POST": "report.write"},
    "api:report": {"GET": "report.view", "PATCH": "report.write"},
    "api:report_sign": {"POST": "report.write"},
    "api:report_send": {"POST": "report.send"},
    "api:report_pdf": "report.print",
    # API: clinical
    # API: clinical episodes, plans, goals, discharge and screening (clinical/api_episodes.py)
    "api:patient_screening": "clinical.view",
    "api:patient_episodes": {"GET": "clinical.view", "POST": "clinical.write"},
    "api:episode": "clinical.view",
    "api:episode_plans": {"GET": "clinical.view", "POST": "clinical.write"},
    "api:episode_plan_current": "clinical.view",
    "api:plan": "clinical.view",
    "api:goal": {"PATCH": "clinical.write"},
    "api:plan_schedule_propose": {"POST": "clinical.write"},
    "api:plan_schedule": {"POST": "clinical.write"},
    "api:episode_discharge": {"GET": "clinical.view", "POST": "clinical.write"},
    # API: clinical assessments (clinical/api_assessments.py)
    "api:episode_assessments": {"GET": "clinical.view", "POST": "clinical.write"},
    "api:assessment": {"GET": "clinical.view", "PATCH": "clinical.write"},
    "api:assessment_sign": {"POST": "clinical.write"},
    # API: clinical session notes (clinical/api_notes.py)
    "api:episode_notes": "clinical.view",
    "api:notes": {"POST": "clinical.write"},
    "api:note": {"GET": "clinical.view", "PATCH": "clinical.write", "DELETE": "clinical.write"},
    "api:note_sign": {"POST": "clinical.write"},
    "api:note_addenda": {"POST": "clinical.write"},
    "api:note_templates": {"GET": "clinical.view", "POST": "clinical.write"},
    "api:note_template": {"GET": "clinical.view", "PATCH": "clinical.write"},
    # API: clinical outcome measures and home care (clinical/api_measures.py)
    "api:episode_measures": {"GET": "clinical.view", "POST": "clinical.write"},
    "api:episode_measurement": "clinical.view",
    "api:episode_progress": "clinical.view",
    "api:episode_home_care": {"GET": "clinical.view", "PUT": "clinical.write"},
    "api:episode_home_care_handout": "clinical.print",
    # API: scheduling
    "api:availability": "schedule.view",
    "api:appointments": {"GET": "schedule.view", "POST": "appointment.book"},
    "api:appointment": "schedule.view",
    "api:appointment_reschedule": "appointment.change",
    "api:appointment_cancel": "appointment.change",
    "api:appointment_status": "appointment.change",
    "api:appointment_undo": "appointment.change",
    "api:appointment_history": "schedule.view",
    "api:series_propose": "appointment.book",
    "api:series_book": "appointment.book",
    "api:series": "schedule.view",
    "api:series_cancel_remaining": "appointment.change",
    # API: billing set-up: codes, mapping, fee schedule, payers, package plans (billing/api_setup.py)
    # The codes', payers', fees' and plans' operations come from their specs
    # (billing/resources.py), added by core.resources.register().
    "api:billing_technique_codes": "billing_setup.view",
    "api:billing_technique_code": {
        "GET": "billing_setup.view",
        "PUT": "billing_setup.manage",
        "DELETE": "billing_setup.manage",
    },
    # API: billing charges (billing/api_charges.py)
    "api:billing_charges": "charge.view",
    "api:billing_charge": "charge.view",
    "api:billing_charge_adjust": {"POST": "charge.adjust"},
    "api:billing_charge_void": {"POST": "billing.manage"},
    # API: billing accounts, invoices, payments, packages (billing/api_accounts.py)
    "api:billing_account": "account.view",
    "api:billing_account_invoices": {"GET": "account.view", "POST": "payment.take"},
    "api:billing_account_payments": {"GET": "account.view", "POST": "payment.take"},
    "api:billing_account_refunds": {"POST": "billing.manage"},
    "api:billing_payment_void": {"POST": "payment.void"},
    "api:billing_account_packages": {"GET": "account.view", "POST": "payment.take"},
    "api:billing_invoice": "account.view",
    "api:billing_invoice_void": {"POST": "billing.manage"},
    "api:billing_invoice_credit": {"POST": "payment.take"},
    "api:billing_package": "account.view",
    "api:billing_package_cancel": {"POST": "billing.manage"},
    # API: billing policies and claims (billing/api_insurance.py)
    "api:billing_policies": {"GET": "account.view", "POST": "policy.manage"},
    "api:billing_policy": {"GET": "account.view", "PATCH": "policy.manage"},
    "api:billing_claims": "claim.view",
    "api:billing_charge_claims": {"POST": "claim.manage"},
    "api:billing_claim": "claim.view",
    "api:billing_claim_move": {"POST": "claim.manage"},
    "api:billing_claim_details": {"PATCH": "claim.manage"},
    "api:billing_claim_cms1500": "claim.export",
    # API: billing reports (billing/api_reports.py)
    "api:billing_report_revenue": {"GET": "billing_report.view"},
    "api:billing_report_payments": {"GET": "billing_report.view"},
    "api:billing_report_aging": {"GET": "billing_report.view"},
    "api:billing_report_visits": {"GET": "billing_report.view"},
    "api:billing_report_production": {"GET": "production.view"},
    # API: clinical
    # API: scheduling set-up (scheduling/api_setup.py). The resources' operations come from
    # their specs (scheduling/resources.py), added by core.resources.register().
    "api:scheduling_policy": {"GET": "scheduling_setup.view", "PUT": "scheduling_setup.manage"},
    "api:waitlist_entries": {"GET": "waitlist.view", "POST": "waitlist.manage"},
    "api:waitlist_entry": {"GET": "waitlist.view", "DELETE": "waitlist.manage"},
    "api:waitlist_matches": "waitlist.view",
    "api:waitlist_book": {"POST": "appointment.book"},
}


def roles_for(key: str) -> frozenset:
    return RULES[key].roles


def has_permission(user, key: str) -> bool:
    """Whether ``user`` holds permission ``key``. Unknown keys are a programming error."""
    rule = RULES[key]
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if key in SIGNED_IN:
        return True
    return user.role in rule.roles


def require(user, key: str) -> None:
    """Raise PermissionDenied unless ``user`` holds ``key``. Does not audit: see core.audit."""
    if not has_permission(user, key):
        raise PermissionDenied(f"Your role does not allow this ({RULES[key].record_type}).")


def url_permission(view_name: str, method: str) -> str | None:
    """The permission key a request needs, PUBLIC, or None when the URL is not in the table."""
    entry = URL_RULES.get(view_name)
    if entry is None or isinstance(entry, str):
        return entry
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    # A method the URL does not serve: ask for the first key listed (its read key), so
    # the view's 405 goes only to someone who may use the URL at all.
    return entry.get(method) or next(iter(entry.values()))
