"""The Account card on the patient chart (core/extension_points.py chart_sections): balance, credit,
sessions left on packages and open invoices. For holders of "account.view" only; a fixed
number of queries whatever the account's length."""

from effleura.billing import balances, packages
from effleura.core.access import allowed
from effleura.core.extension_points import Section
from effleura.core.permissions import has_permission

OPEN_SHOWN = 5


def account_section(user, patient) -> Section | None:
    if not has_permission(user, "account.view"):
        return None
    open_invoices = list(balances.open_invoices(patient)[:OPEN_SHOWN])
    allowed(user, "account.view", patient_id=patient.public_id, record_id=patient.public_id, detail="chart card")
    return Section(
        "billing/accounts/chart_section.html",
        {
            "account": balances.account(patient),
            "sessions_left": packages.sessions_left(patient),
            "open_invoices": [(i, i.total - i.paid) for i in open_invoices],
        },
    )
