"""Scheduling URLs, gathered from the view modules (each keeps its own urlpatterns)."""

from effleura.scheduling.views import calendar, feed, series, setup, waitlist

app_name = "scheduling"

urlpatterns = [
    *calendar.urlpatterns,
    *series.urlpatterns,
    *waitlist.urlpatterns,
    *setup.urlpatterns,
    *feed.urlpatterns,
]
