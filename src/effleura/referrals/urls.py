"""Referrals URLs, gathered from the view modules (each keeps its own urlpatterns)."""

from effleura.referrals.views import authorizations, providers, referrals, reports

app_name = "referrals"

urlpatterns = [*providers.urlpatterns, *referrals.urlpatterns, *reports.urlpatterns, *authorizations.urlpatterns]
