"""The billing accounts part of the JSON API (operation names in core/permissions.py URL_RULES,
# API: billing ...). Registered in effleura/api/api.py.

A patient's account (balances), invoices (issue a visit or period invoice, void, apply
credit), payments and refunds, packages (sell, cancel). Thin, like the views: access_* to
read, check_*/do_* to write (billing/invoices.py, payments.py, packages.py), which authorize and
audit. Money is sent and returned as decimal strings with the currency, never floats.
"""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from ninja import Field, Router, Schema, Status

from effleura.billing import access, balances, invoices, packages, payments
from effleura.billing.models import Invoice, Package, Payment
from effleura.core import versions
from effleura.core.api_schemas import ERRORS_VERSIONED, ERRORS_WITH_ID, Amount, ErrorOut, InputSchema, text
from effleura.patients.access import access_patient

router = Router(tags=["billing: accounts"])
WITH_400 = {400: ErrorOut, **ERRORS_WITH_ID}


class AccountOut(Schema):
    patient_id: UUID
    currency: str
    invoiced: Decimal
    paid: Decimal
    outstanding: Decimal
    credit: Decimal
    balance: Decimal
    received: Decimal
    refunded: Decimal
    open_invoices: int
    package_sessions_left: int


class InvoiceLineOut(Schema):
    date_of_service: date | None
    code: str
    description: str
    units: int
    amount: Decimal


class InvoiceOut(Schema):
    id: UUID
    number: str
    patient_id: UUID
    kind: str
    status: str
    state: str
    issued_on: date
    due_on: date | None
    period_start: date | None
    period_end: date | None
    total: Decimal
    paid: Decimal
    outstanding: Decimal
    currency: str
    void_reason: str
    lines: list[InvoiceLineOut]
    version: int  # voiding counts as a write: send it back in If-Match


class PaymentOut(Schema):
    id: UUID
    patient_id: UUID
    kind: str
    method: str
    amount: Decimal
    currency: str
    received_on: date
    reference: str
    note: str
    void: bool = Field(description="Voided as entered in error: it counts for nothing.")
    voided_at: datetime | None
    voided_by: str = Field(description="Who voided it; empty unless void.")
    void_reason: str


class PackageOut(Schema):
    id: UUID
    patient_id: UUID
    name: str
    sessions: int
    sessions_used: int
    sessions_left: int
    price: Decimal
    currency: str
    purchased_on: date
    expires_on: date
    status: str
    state: str
    cancel_reason: str


class InvoiceIn(InputSchema):
    """A visit invoice (``charge``) or a period invoice (``start`` and ``end``)."""

    charge: UUID | None = None
    start: date | None = None
    end: date | None = None
    due_on: date | None = None


class PaymentIn(InputSchema):
    amount: Amount
    method: text(8)
    received_on: date | None = None
    reference: text(60) = ""
    note: text(200) = ""
    invoices: list[UUID] = []


class RefundIn(InputSchema):
    amount: Amount
    method: text(8)
    reference: text(60) = ""
    reason: text(200)


class ReasonIn(InputSchema):
    reason: text(200)


class CreditIn(InputSchema):
    amount: Amount | None = None


class SellIn(InputSchema):
    plan: UUID
    purchased_on: date | None = None


def _account_out(patient) -> dict:
    a = balances.account(patient)
    return {
        "patient_id": patient.public_id,
        "currency": a.currency,
        "invoiced": a.invoiced,
        "paid": a.paid,
        "outstanding": a.outstanding,
        "credit": a.credit,
        "balance": a.balance,
        "received": a.received,
        "refunded": a.refunded,
        "open_invoices": a.open_invoices,
        "package_sessions_left": packages.sessions_left(patient),
    }


def _invoices_out(invoices: list[Invoice]) -> list[dict]:
    amounts = balances.invoice_amounts(invoices)
    lines = access.invoice_lines(invoices)
    return [
        {
            "id": i.public_id,
            "number": i.number,
            "patient_id": i.patient.public_id,
            "kind": i.kind,
            "status": i.status,
            "state": amounts[i.pk].label,
            "issued_on": i.issued_on,
            "due_on": i.due_on,
            "period_start": i.period_start,
            "period_end": i.period_end,
            "total": i.total,
            "paid": amounts[i.pk].paid,
            "outstanding": amounts[i.pk].outstanding,
            "currency": i.currency,
            "void_reason": i.void_reason,
            "lines": lines[i.pk],
            "version": i.version,
        }
        for i in invoices
    ]


def _payment_out(p: Payment) -> dict:
    return {
        "id": p.public_id,
        "patient_id": p.patient.public_id,
        "kind": p.kind,
        "method": p.method,
        "amount": p.amount,
        "currency": p.currency,
        "received_on": p.received_on,
        "reference": p.reference,
        "note": p.note,
        "void": p.is_void,
        "voided_at": p.voided_at,
        "voided_by": p.voided_by.display_name if p.voided_by_id else "",
        "void_reason": p.void_reason,
    }


def _package_out(s: packages.PackageState) -> dict:
    p: Package = s.package
    return {
        "id": p.public_id,
        "patient_id": p.patient.public_id,
        "name": p.name,
        "sessions": p.sessions,
        "sessions_used": s.used,
        "sessions_left": s.left,
        "price": p.price,
        "currency": p.currency,
        "purchased_on": p.purchased_on,
        "expires_on": p.expires_on,
        "status": p.status,
        "state": s.label,
        "cancel_reason": p.cancel_reason,
    }


def _patient(request, patient_id, audit_it=True):
    return access_patient(request.user, patient_id, key="account.view", audit_it=audit_it)


@router.get(
    "/billing/accounts/{uuid:patient_id}", response={200: AccountOut, **ERRORS_WITH_ID}, url_name="billing_account"
)
def get_account(request, patient_id: UUID):
    return _account_out(_patient(request, patient_id))


@router.get(
    "/billing/accounts/{uuid:patient_id}/invoices",
    response={200: list[InvoiceOut], **ERRORS_WITH_ID},
    url_name="billing_account_invoices",
)
def list_invoices(request, patient_id: UUID):
    invoices = access.access_patient_invoices(request.user, patient_id)[1]
    return _invoices_out(invoices)


@router.post(
    "/billing/accounts/{uuid:patient_id}/invoices",
    response={201: InvoiceOut, **WITH_400},
    url_name="billing_account_invoices",
)
def issue_invoice(request, patient_id: UUID, payload: InvoiceIn):
    patient = _patient(request, patient_id, audit_it=False)
    due = {"due_on": payload.due_on} if payload.due_on else {}
    if payload.charge is not None:
        clean = invoices.check_issue_visit_invoice(request.user, patient, {"charge": payload.charge, **due})
    else:
        data = {"start": payload.start, "end": payload.end, **due}
        clean = invoices.check_issue_period_invoice(request.user, patient, data)
    invoice = invoices.do_issue_invoice(request.user, patient, clean)
    invoice.refresh_from_db()  # its total, as stored
    return Status(201, _invoices_out([invoice])[0])


@router.get(
    "/billing/accounts/{uuid:patient_id}/payments",
    response={200: list[PaymentOut], **ERRORS_WITH_ID},
    url_name="billing_account_payments",
)
def list_payments(request, patient_id: UUID):
    found = access.access_patient_payments(request.user, patient_id)[1]
    return [_payment_out(p) for p in found]


@router.post(
    "/billing/accounts/{uuid:patient_id}/payments",
    response={201: PaymentOut, **WITH_400},
    url_name="billing_account_payments",
)
def take_payment(request, patient_id: UUID, payload: PaymentIn):
    patient = _patient(request, patient_id, audit_it=False)
    data = payload.model_dump(exclude_none=True)
    data["invoices"] = [str(i) for i in payload.invoices]
    payment = payments.do_take_payment(request.user, patient, payments.check_take_payment(request.user, patient, data))
    return Status(201, _payment_out(payment))


@router.post(
    "/billing/accounts/{uuid:patient_id}/refunds",
    response={201: PaymentOut, **WITH_400},
    url_name="billing_account_refunds",
)
def refund(request, patient_id: UUID, payload: RefundIn):
    patient = _patient(request, patient_id, audit_it=False)
    clean = payments.check_refund(request.user, patient, payload.model_dump())
    return Status(201, _payment_out(payments.do_refund(request.user, patient, clean)))


@router.post(
    "/billing/payments/{uuid:payment_id}/void", response={200: PaymentOut, **WITH_400}, url_name="billing_payment_void"
)
def void_payment(request, payment_id: UUID, payload: ReasonIn):
    """Void a payment or refund entered in error (billing staff or the owner), with a reason.
    It stays in the account's list, marked void; balances, the desk and reports leave it
    out. Refused (422) when it is already void, or when the credit it left has been
    refunded (void the refund first)."""
    payment = access.access_payment(request.user, payment_id)
    clean = payments.check_void_payment(request.user, payment, payload.model_dump())
    return _payment_out(payments.do_void_payment(request.user, payment, clean))


@router.get(
    "/billing/accounts/{uuid:patient_id}/packages",
    response={200: list[PackageOut], **ERRORS_WITH_ID},
    url_name="billing_account_packages",
)
def list_packages(request, patient_id: UUID):
    return [_package_out(s) for s in packages.patient_packages(_patient(request, patient_id))]


@router.post(
    "/billing/accounts/{uuid:patient_id}/packages",
    response={201: PackageOut, **WITH_400},
    url_name="billing_account_packages",
)
def sell_package(request, patient_id: UUID, payload: SellIn):
    patient = _patient(request, patient_id, audit_it=False)
    data = {"plan": payload.plan, "purchased_on": payload.purchased_on}
    package, _invoice = packages.do_sell_package(
        request.user, patient, packages.check_sell_package(request.user, patient, data)
    )
    return Status(201, _package_out(packages.state(package)))


@router.get(
    "/billing/invoices/{uuid:invoice_id}", response={200: InvoiceOut, **ERRORS_WITH_ID}, url_name="billing_invoice"
)
def get_invoice(request, invoice_id: UUID):
    return _invoices_out([access.access_invoice(request.user, invoice_id)])[0]


@router.post(
    "/billing/invoices/{uuid:invoice_id}/void",
    response={200: InvoiceOut, 400: ErrorOut, **ERRORS_VERSIONED},
    url_name="billing_invoice_void",
)
def void_invoice(request, invoice_id: UUID, payload: ReasonIn):
    """Void the invoice. With `If-Match: "<version>"` (the ETag of your read), an invoice
    that changed since is not voided: 412."""
    invoice = access.access_invoice(request.user, invoice_id)
    expected = versions.if_match(request)
    reason = invoices.check_void_invoice(request.user, invoice, payload.model_dump(), expected_version=expected)
    invoices.do_void_invoice(request.user, invoice, reason, expected_version=expected)
    invoice.refresh_from_db()  # its status and amounts, as stored
    return _invoices_out([invoice])[0]


@router.post(
    "/billing/invoices/{uuid:invoice_id}/credit",
    response={200: InvoiceOut, **WITH_400},
    url_name="billing_invoice_credit",
)
def apply_credit(request, invoice_id: UUID, payload: CreditIn):
    invoice = access.access_invoice(request.user, invoice_id)
    payments.do_apply_credit(
        request.user, invoice, payments.check_apply_credit(request.user, invoice, payload.model_dump())
    )
    invoice.refresh_from_db()  # its status and amounts, as stored
    return _invoices_out([invoice])[0]


@router.get(
    "/billing/packages/{uuid:package_id}", response={200: PackageOut, **ERRORS_WITH_ID}, url_name="billing_package"
)
def get_package(request, package_id: UUID):
    return _package_out(packages.state(access.access_package(request.user, package_id)))


@router.post(
    "/billing/packages/{uuid:package_id}/cancel",
    response={200: PackageOut, **WITH_400},
    url_name="billing_package_cancel",
)
def cancel_package(request, package_id: UUID, payload: ReasonIn):
    package = access.access_package(request.user, package_id)
    packages.do_cancel_package(
        request.user, package, packages.check_cancel_package(request.user, package, payload.model_dump())
    )
    package.refresh_from_db()  # its status, as stored
    return _package_out(packages.state(package))
