"""Clinical URLs, gathered from the view modules (each keeps its own urlpatterns)."""

from effleura.clinical.views import assessments, episodes, homecare, knowledge, measures, notes, plans

app_name = "clinical"

urlpatterns = [
    *episodes.urlpatterns,
    *plans.urlpatterns,
    *assessments.urlpatterns,
    *notes.urlpatterns,
    *measures.urlpatterns,
    *homecare.urlpatterns,
    *knowledge.urlpatterns,
]
