"""Billing pages: insurance (URL names in core/permissions.py URL_RULES, # billing: insurance)."""

urlpatterns: list = []
