"""Balances, read and never stored.

- an invoice's paid amount is the sum of its allocations; its outstanding amount is its
  total less that (a void invoice owes nothing);
- a patient's credit is what they paid, less refunds, less what is applied to invoices
  that are not void. Voiding an invoice therefore releases what was applied to it back
  to credit without deleting the history;
- a patient's balance is what they owe less their credit;
- a void payment (or refund), entered in error, counts for nothing: neither it nor what it
  paid on invoices (its allocations are kept, and left out here: LIVE_ALLOCATIONS).
So, for every patient and in total, invoiced (not void) = paid + outstanding by
construction; the writes (billing/invoices.py, billing/payments.py) keep credit >= 0 and
never pay an invoice over its total.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from effleura.billing.choices import InvoiceStatus, PaymentKind
from effleura.billing.models import Invoice, Payment, PaymentAllocation
from effleura.billing.models.money import default_currency
from effleura.core.values import CENT
from effleura.patients.models import Patient

ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=14, decimal_places=2)
# From an invoice: the allocations that pay it (of payments that are not void).
PAID_BY_LIVE = {"allocations__payment__voided_at__isnull": True}
# An invoice is still owed when more than half a cent is left to pay. Amounts are whole
# cents, but SQLite sums decimals as floating point (0.12 + 1.64 = 1.7599999999999998), so
# comparing a total with a sum exactly would call a paid invoice open.
HALF_CENT = Decimal("0.005")


def still_owed(total: str = "total", paid: str = "paid") -> Q:
    """The filter "``total`` is more than ``paid``" on annotated sums, exact on every engine."""
    return Q(**{f"{total}__gt": F(paid) + Value(HALF_CENT)})


def money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def amount_sum(field: str, **filters):
    """The sum of ``field`` over the rows matching ``filters``, zero when none, as money."""
    return Coalesce(Sum(field, filter=Q(**filters) if filters else None), Value(ZERO), output_field=_MONEY)


def paid_on_invoice():
    """What live payments paid on the outer query's invoice (``OuterRef("pk")``), as money: a
    correlated subquery, so a list ordered by an index and cut at a limit reads the
    allocations of the invoices it shows only (a join and GROUP BY reads them all first)."""
    paid = (
        PaymentAllocation.objects.filter(invoice=OuterRef("pk"), payment__voided_at__isnull=True)
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(paid, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


# Reading balances -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceAmounts:
    total: Decimal
    paid: Decimal
    outstanding: Decimal
    void: bool

    @property
    def label(self) -> str:
        if self.void:
            return "Void"
        if self.outstanding <= 0:
            return "Paid"
        if self.paid > 0:
            return "Partly paid"
        return "Unpaid"


def invoice_amounts(invoices) -> dict[int, InvoiceAmounts]:
    """Paid and outstanding for each invoice (by pk), in one query."""
    rows = Invoice.objects.filter(pk__in=[i.pk for i in invoices]).annotate(
        paid=amount_sum("allocations__amount", **PAID_BY_LIVE)
    )
    result = {}
    for row in rows.values("pk", "total", "status", "paid"):
        void = row["status"] == InvoiceStatus.VOID
        paid = money(row["paid"])
        result[row["pk"]] = InvoiceAmounts(
            money(row["total"]), paid, ZERO if void else money(row["total"]) - paid, void
        )
    return result


def amounts(invoice: Invoice) -> InvoiceAmounts:
    return invoice_amounts([invoice])[invoice.pk]


@dataclass(frozen=True)
class Account:
    invoiced: Decimal  # invoices not void
    paid: Decimal  # applied to invoices not void
    outstanding: Decimal
    received: Decimal  # payments
    refunded: Decimal
    credit: Decimal
    open_invoices: int
    currency: str

    @property
    def balance(self) -> Decimal:
        """What the patient owes (positive) or is owed as credit (negative)."""
        return self.outstanding - self.credit


def account(patient: Patient | int) -> Account:
    """A patient's (or, with ``patient=None`` via ``totals()``, everyone's) account: four
    queries (account_of when the invoices and payments are read already)."""
    return _account(Q(patient=patient), Q(invoice__patient=patient))


def totals() -> Account:
    """The whole practice's account, for reconciliation."""
    return _account(Q(), Q())


def _account(patient_q: Q, allocation_q: Q) -> Account:
    live = Q(invoice__status__in=[InvoiceStatus.ISSUED])
    inv = Invoice.objects.filter(patient_q, status=InvoiceStatus.ISSUED).aggregate(
        total=amount_sum("total"), count=Count("id")
    )
    applied = PaymentAllocation.objects.filter(allocation_q, live, payment__voided_at__isnull=True).aggregate(
        total=amount_sum("amount")
    )["total"]
    # Invoices with something left to pay: a second aggregate over the same rows.
    open_count = (
        Invoice.objects.filter(patient_q, status=InvoiceStatus.ISSUED)
        .annotate(paid=amount_sum("allocations__amount", **PAID_BY_LIVE))
        .filter(still_owed())
        .count()
    )
    pay = Payment.objects.filter(patient_q, Payment.LIVE).aggregate(
        received=amount_sum("amount", kind=PaymentKind.PAYMENT), refunded=amount_sum("amount", kind=PaymentKind.REFUND)
    )
    return _from_sums(money(inv["total"]), money(applied), money(pay["received"]), money(pay["refunded"]), open_count)


def _from_sums(invoiced: Decimal, applied: Decimal, received: Decimal, refunded: Decimal, open_count: int):
    """An Account from its four sums: what is outstanding and what is credit follow."""
    return Account(
        invoiced=invoiced,
        paid=applied,
        outstanding=invoiced - applied,
        received=received,
        refunded=refunded,
        credit=received - refunded - applied,
        open_invoices=open_count,
        currency=default_currency(),
    )


def account_of(invoices, payments) -> Account:
    """The account from what a page has read already: ``invoices``, (invoice,
    InvoiceAmounts) pairs of every invoice of one patient (invoice_amounts), and
    ``payments``, every payment of theirs, void ones too. The same figures as account()
    (the reconciliation test holds both to it) without its four queries."""
    issued = [amounts for invoice, amounts in invoices if invoice.status == InvoiceStatus.ISSUED]
    live = [p for p in payments if p.voided_at is None]
    return _from_sums(
        money(sum((a.total for a in issued), ZERO)),
        money(sum((a.paid for a in issued), ZERO)),
        money(sum((p.amount for p in live if p.kind == PaymentKind.PAYMENT), ZERO)),
        money(sum((p.amount for p in live if p.kind == PaymentKind.REFUND), ZERO)),
        sum(1 for a in issued if a.total > a.paid),
    )


def credit(patient: Patient) -> Decimal:
    return account(patient).credit


def open_invoices(patient: Patient):
    """The patient's issued invoices with something left to pay, oldest first (a queryset)."""
    return (
        Invoice.objects.filter(patient=patient, status=InvoiceStatus.ISSUED)
        .annotate(paid=amount_sum("allocations__amount", **PAID_BY_LIVE))
        .filter(still_owed())
        .order_by("issued_on", "id")
    )
