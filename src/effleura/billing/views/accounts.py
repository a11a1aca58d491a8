"""Billing pages: accounts (URL names in core/permissions.py URL_RULES, # billing: accounts)."""

urlpatterns: list = []
