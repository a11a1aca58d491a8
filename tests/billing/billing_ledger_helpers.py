"""Helpers for the accounts tests (C): charges and package plans made directly with models."""

import datetime
from decimal import Decimal

from effleura.billing.models import Charge, ChargeLine, PackagePlan, ProcedureCode


def make_charge(patient, practitioner, total="80.00", day=None, *, service=None, code="97124", units=2, **fields):
    """An open charge with one line of ``code`` worth ``total``."""
    day = day or datetime.date.today() - datetime.timedelta(days=1)
    total = Decimal(str(total))
    charge = Charge.objects.create(
        patient=patient, practitioner=practitioner, service=service, date_of_service=day, total=total,
        created_by=practitioner, **fields,
    )  # fmt: skip
    ChargeLine.objects.create(
        charge=charge, code=ProcedureCode.objects.get(code=code), minutes=units * 15, computed_units=units,
        units=units, unit_price=(total / units).quantize(Decimal("0.01")), amount=total,
    )  # fmt: skip
    return charge


def make_plan(name="Ten sessions (synthetic)", sessions=10, price="700.00", valid_days=365, service=None):
    return PackagePlan.objects.create(
        name=name, sessions=sessions, price=Decimal(price), valid_days=valid_days, service=service
    )
