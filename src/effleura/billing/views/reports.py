"""Billing pages: reports (URL names in core/permissions.py URL_RULES, # billing: reports)."""

urlpatterns: list = []
