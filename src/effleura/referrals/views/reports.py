"""Referrals pages: reports. URL names are listed in core/permissions.py URL_RULES."""

urlpatterns: list = []
