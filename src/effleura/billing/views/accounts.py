"""Billing pages: accounts (URL names in core/permissions.py URL_RULES, # billing: accounts).

The billing desk, a patient's account (invoices, payments, packages, visits to invoice,
and the forms to take a payment, invoice, refund and sell a package), an invoice with its
printable PDF (invoice or receipt). Thin: parse, access_*, check_*/do_* (billing/invoices.py,
payments.py, packages.py), render. A refused form goes back to the page it came from with
the reasons as messages.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from effleura.billing import access, invoices, ledger, packages, payments
from effleura.billing.choices import PaymentKind, PaymentMethod
from effleura.billing.models import PackagePlan
from effleura.core import versions
from effleura.core.models import Practice
from effleura.core.permissions import has_permission
from effleura.core.values import format_amount
from effleura.documents.pdf import pdf_response
from effleura.patients.access import access_patient
from effleura.patients.chart import chart_context

TAB = "account"


def _say(request, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for errors in exc.message_dict.values():
            for message in errors:
                messages.error(request, message)
    else:
        for message in exc.messages:
            messages.error(request, message)


def _money(amount, currency: str) -> str:
    """An amount for a message, as the practice writes it (its decimal separator)."""
    return f"{format_amount(amount, Practice.current().decimal_separator)} {currency}"


def _to_account(patient):
    return redirect("billing:account", patient_id=patient.public_id)


def home(request):
    """The billing desk."""
    context = access.access_desk(request.user, after=request.GET.get("after"))
    return render(request, "billing/accounts/home.html", {"nav": "billing", **context})


def account(request, patient_id):
    patient = access_patient(request.user, patient_id, key="account.view")
    context = chart_context(request, patient, TAB)
    context.update(ledger.account_page(patient))
    context["methods"] = PaymentMethod.choices
    context["plans"] = PackagePlan.objects.filter(is_active=True).order_by("name", "id")
    context["can_take"] = has_permission(request.user, "payment.take")
    context["can_manage"] = has_permission(request.user, "billing.manage")
    context["can_void"] = has_permission(request.user, "payment.void")
    return render(request, "billing/accounts/account.html", context)


@require_POST
def account_pay(request, patient_id):
    patient = access_patient(request.user, patient_id, key="account.view", audit_it=False)
    data = {k: request.POST.get(k, "") for k in ("amount", "method", "received_on", "reference", "note")}
    data["invoices"] = request.POST.getlist("invoices")
    try:
        payment = payments.do_take_payment(
            request.user, patient, payments.check_take_payment(request.user, patient, data)
        )
    except ValidationError as exc:
        _say(request, exc)
    else:
        messages.success(request, f"Payment of {_money(payment.amount, payment.currency)} recorded.")
    return _to_account(patient)


@require_POST
def account_invoice(request, patient_id):
    """Issue a visit invoice (charge=…) or a period invoice (start=…&end=…)."""
    patient = access_patient(request.user, patient_id, key="account.view", audit_it=False)
    try:
        if request.POST.get("charge"):
            data = {"charge": request.POST["charge"], "due_on": request.POST.get("due_on", "")}
            clean = invoices.check_issue_visit_invoice(request.user, patient, data)
        else:
            data = {k: request.POST.get(k, "") for k in ("start", "end", "due_on")}
            clean = invoices.check_issue_period_invoice(request.user, patient, data)
        invoice = invoices.do_issue_invoice(request.user, patient, clean)
    except ValidationError as exc:
        _say(request, exc)
        return _to_account(patient)
    messages.success(request, f"Invoice {invoice.number} issued.")
    return redirect("billing:invoice", invoice_id=invoice.public_id)


@require_POST
def account_refund(request, patient_id):
    patient = access_patient(request.user, patient_id, key="account.view", audit_it=False)
    data = {k: request.POST.get(k, "") for k in ("amount", "method", "reference", "reason")}
    try:
        refund = payments.do_refund(request.user, patient, payments.check_refund(request.user, patient, data))
    except ValidationError as exc:
        _say(request, exc)
    else:
        messages.success(request, f"Refund of {_money(refund.amount, refund.currency)} recorded.")
    return _to_account(patient)


@require_POST
def payment_void(request, payment_id):
    """Void a payment or refund entered in error, with a reason (billing staff or the owner)."""
    found = access.access_payment(request.user, payment_id)
    try:
        clean = payments.check_void_payment(request.user, found, {"reason": request.POST.get("reason", "")})
        voided = payments.do_void_payment(request.user, found, clean)
    except ValidationError as exc:
        _say(request, exc)
    else:
        what = "Refund" if voided.kind == PaymentKind.REFUND else "Payment"
        messages.success(request, f"{what} of {_money(voided.amount, voided.currency)} voided; it no longer counts.")
    return _to_account(found.patient)


@require_POST
def package_sell(request, patient_id):
    patient = access_patient(request.user, patient_id, key="account.view", audit_it=False)
    data = {k: request.POST.get(k, "") for k in ("plan", "purchased_on")}
    try:
        package, invoice = packages.do_sell_package(
            request.user, patient, packages.check_sell_package(request.user, patient, data)
        )
    except ValidationError as exc:
        _say(request, exc)
        return _to_account(patient)
    messages.success(request, f"{package.name} sold." + (f" Invoice {invoice.number} issued." if invoice else ""))
    if invoice is not None:
        return redirect("billing:invoice", invoice_id=invoice.public_id)
    return _to_account(patient)


@require_POST
def package_cancel(request, package_id):
    package = access.access_package(request.user, package_id)
    try:
        reason = packages.check_cancel_package(request.user, package, {"reason": request.POST.get("reason", "")})
        packages.do_cancel_package(request.user, package, reason)
    except ValidationError as exc:
        _say(request, exc)
    else:
        messages.success(request, "Package cancelled.")
    return _to_account(package.patient)


def invoice(request, invoice_id):
    found = access.access_invoice(request.user, invoice_id)
    context = chart_context(request, found.patient, TAB)
    context.update(ledger.invoice_page(found))
    context["can_take"] = has_permission(request.user, "payment.take")
    context["can_manage"] = has_permission(request.user, "billing.manage")
    context["can_print"] = has_permission(request.user, "invoice.print")
    return render(request, "billing/accounts/invoice.html", context)


def invoice_pdf(request, invoice_id):
    """The printable invoice; ``?receipt=1`` titles it a receipt (what was paid)."""
    found = access.access_invoice(request.user, invoice_id, key="invoice.print")
    context = ledger.invoice_page(found)
    receipt = request.GET.get("receipt") == "1"
    context.update({"receipt": receipt, "patient": found.patient})
    kind = "receipt" if receipt else "invoice"
    return pdf_response(request, "billing/accounts/invoice_pdf.html", context, filename=f"{kind}-{found.number}.pdf")


@require_POST
def invoice_void(request, invoice_id):
    found = access.access_invoice(request.user, invoice_id)
    try:
        # The version the page showed: an invoice changed since is not voided unseen.
        expected = versions.parse_posted(request.POST.get("version"))
        data = {"reason": request.POST.get("reason", "")}
        reason = invoices.check_void_invoice(request.user, found, data, expected_version=expected)
        invoices.do_void_invoice(request.user, found, reason, expected_version=expected)
    except ValidationError as exc:
        _say(request, exc)
    else:
        messages.success(request, f"Invoice {found.number} voided; its visits can be invoiced again.")
    return redirect("billing:invoice", invoice_id=found.public_id)


@require_POST
def invoice_credit(request, invoice_id):
    found = access.access_invoice(request.user, invoice_id)
    try:
        clean = payments.check_apply_credit(request.user, found, {"amount": request.POST.get("amount", "")})
        applied = payments.do_apply_credit(request.user, found, clean)
    except ValidationError as exc:
        _say(request, exc)
    else:
        messages.success(request, f"{_money(applied, found.currency)} of credit applied.")
    return redirect("billing:invoice", invoice_id=found.public_id)


urlpatterns = [
    path("", home, name="home"),
    path("accounts/<uuid:patient_id>/", account, name="account"),
    path("accounts/<uuid:patient_id>/pay/", account_pay, name="account_pay"),
    path("accounts/<uuid:patient_id>/invoice/", account_invoice, name="account_invoice"),
    path("accounts/<uuid:patient_id>/refund/", account_refund, name="account_refund"),
    path("accounts/<uuid:patient_id>/packages/sell/", package_sell, name="package_sell"),
    path("payments/<uuid:payment_id>/void/", payment_void, name="payment_void"),
    path("packages/<uuid:package_id>/cancel/", package_cancel, name="package_cancel"),
    path("invoices/<uuid:invoice_id>/", invoice, name="invoice"),
    path("invoices/<uuid:invoice_id>/pdf/", invoice_pdf, name="invoice_pdf"),
    path("invoices/<uuid:invoice_id>/void/", invoice_void, name="invoice_void"),
    path("invoices/<uuid:invoice_id>/credit/", invoice_credit, name="invoice_credit"),
]
