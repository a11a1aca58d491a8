"""Billing pages: charges (URL names in core/permissions.py URL_RULES, # billing: charges)."""

urlpatterns: list = []
