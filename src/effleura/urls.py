from django.urls import include, path

from effleura.api.api import api

urlpatterns = [
    path("", include("effleura.core.urls")),
    path("passkeys/", include("effleura.core.passkey_urls")),
    path("patients/", include("effleura.patients.urls")),
    path("schedule/", include("effleura.scheduling.urls")),
    path("clinical/", include("effleura.clinical.urls")),
    path("referrals/", include("effleura.referrals.urls")),
    path("billing/", include("effleura.billing.urls")),
    path("api/v1/", api.urls),
]

handler400 = "effleura.core.views.bad_request"
handler403 = "effleura.core.views.permission_denied"
handler404 = "effleura.core.views.not_found"
handler500 = "effleura.core.views.server_error"
