from django.urls import path

from effleura.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("search/", views.patient_search, name="search"),
    path("new/", views.patient_create, name="create"),
    path("consent-forms/", views.consent_documents, name="consent_documents"),
    path("consent-forms/new/", views.consent_document_new, name="consent_document_new"),
    path("consent-forms/<uuid:document_id>/", views.consent_document, name="consent_document"),
    path(
        "consent-forms/<uuid:document_id>/new-version/",
        views.consent_document_version_new,
        name="consent_document_version_new",
    ),
    path("<uuid:patient_id>/", views.chart, name="chart"),
    path("<uuid:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:patient_id>/emergency-access/", views.break_glass, name="break_glass"),
    path("<uuid:patient_id>/health-history/", views.history, name="history"),
    path("<uuid:patient_id>/health-history/new/", views.history_new, name="history_new"),
    path("<uuid:patient_id>/health-history/v<int:version>/", views.history_version, name="history_version"),
    path("<uuid:patient_id>/consent/<uuid:document_id>/sign/", views.consent_capture, name="consent_capture"),
    path("<uuid:patient_id>/consent/<uuid:record_id>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("<uuid:patient_id>/hand-over/", views.handover_home, name="handover"),
    path("<uuid:patient_id>/hand-over/start/", views.handover_start, name="handover_start"),
]
