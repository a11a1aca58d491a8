"""The billing reports part of the JSON API (operation names in core/permissions.py URL_RULES,
# API: billing ...). Registered in effleura/api/api.py."""

from ninja import Router

router = Router(tags=["billing: reports"])
