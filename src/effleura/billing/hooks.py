"""Where billing plugs into the apps upstream of it (called from BillingConfig.ready()), so
that they never import billing: the charge made when a note is signed, the account card on
the patient chart, and the patient behind billing URLs for refusal audits."""


def register_all() -> None:
    from effleura.billing import models
    from effleura.billing.charges import charge_for_signed_note
    from effleura.clinical import signing_hooks
    from effleura.core.middleware import PATIENT_RESOLVERS

    signing_hooks.register(charge_for_signed_note)

    from effleura.billing.chart import account_section
    from effleura.patients import chart_sections

    chart_sections.register(account_section)

    def resolver(model, path="patient__public_id"):
        return lambda value: model.objects.filter(public_id=value).values_list(path, flat=True).first()

    PATIENT_RESOLVERS["charge_id"] = resolver(models.Charge)
    PATIENT_RESOLVERS["invoice_id"] = resolver(models.Invoice)
    PATIENT_RESOLVERS["payment_id"] = resolver(models.Payment)
    PATIENT_RESOLVERS["package_id"] = resolver(models.Package)
    PATIENT_RESOLVERS["policy_id"] = resolver(models.Policy)
    PATIENT_RESOLVERS["claim_id"] = resolver(models.Claim, "charge__patient__public_id")
