"""Billing URLs, gathered from the view modules (each keeps its own urlpatterns)."""

from effleura.billing.views import accounts, charges, insurance, reports, setup

app_name = "billing"

urlpatterns = [
    *setup.urlpatterns,
    *charges.urlpatterns,
    *accounts.urlpatterns,
    *insurance.urlpatterns,
    *reports.urlpatterns,
]
