"""Money fields: Decimal with two places, never float, and the currency beside it."""

from django.conf import settings
from django.db import models

from effleura.core.values import MONEY_MAX_DIGITS as MAX_DIGITS


def money_field(verbose_name=None, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=MAX_DIGITS, decimal_places=2, **kwargs)


def default_currency() -> str:
    return settings.EFFLEURA_CURRENCY


def currency_field() -> models.CharField:
    return models.CharField(max_length=3, default=default_currency, help_text="ISO 4217, e.g. USD.")
