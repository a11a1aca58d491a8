"""Billing pages: setup (URL names in core/permissions.py URL_RULES, # billing: setup)."""

urlpatterns: list = []
