"""Where billing plugs into the apps upstream of it (called from BillingConfig.ready()), so
that they never import billing: the charge made when a note is signed, the account card on
the patient chart, and the patient behind billing URLs for refusal audits
(core/extension_points.py)."""

from effleura.billing import models
from effleura.billing.charges import charge_for_signed_note
from effleura.billing.chart import account_section
from effleura.core import extension_points
from effleura.core.extension_points import register_patient_url


def register_all() -> None:
    extension_points.note_signed.register(charge_for_signed_note)
    extension_points.chart_sections.register(account_section)
    register_patient_url("charge_id", models.Charge)
    register_patient_url("invoice_id", models.Invoice)
    register_patient_url("payment_id", models.Payment)
    register_patient_url("package_id", models.Package)
    register_patient_url("policy_id", models.Policy)
    register_patient_url("claim_id", models.Claim, "charge__patient__public_id")
