"""Billing: the code catalog and fee schedule, payers and policies, charges from signed
notes, invoices, payments, packages and insurance claims. Money is Decimal with a currency
(settings.EFFLEURA_CURRENCY), never float."""

from effleura.billing.models.catalog import FeeScheduleEntry, Payer, ProcedureCode, TechniqueCode
from effleura.billing.models.insurance import Claim, ClaimEvent, Policy
from effleura.billing.models.ledger import (
    Charge,
    ChargeAdjustment,
    ChargeLine,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
)
from effleura.billing.models.packages import Package, PackagePlan, PackageUse

__all__ = [
    "Charge",
    "ChargeAdjustment",
    "ChargeLine",
    "Claim",
    "ClaimEvent",
    "FeeScheduleEntry",
    "Invoice",
    "InvoiceLine",
    "Package",
    "PackagePlan",
    "PackageUse",
    "Payer",
    "Payment",
    "PaymentAllocation",
    "Policy",
    "ProcedureCode",
    "TechniqueCode",
]
