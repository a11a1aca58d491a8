from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "effleura.referrals"
    label = "referrals"
    verbose_name = "Referrals: referring providers, authorizations and reports back"

    def ready(self) -> None:
        from effleura.referrals import resources

        resources.register_all()  # the provider's pages join the permission table
        # Authorization warnings where people look (referrals/authorization_warnings.py):
        # a badge on calendar entries and a confirmation before booking past the limit.
        from effleura.referrals.authorization_warnings import authorization_badges, booking_warnings
        from effleura.scheduling import badges
        from effleura.scheduling import booking_warnings as booking_warning_registry

        badges.register(authorization_badges)
        booking_warning_registry.register(booking_warnings)

        from effleura.patients import chart_sections
        from effleura.referrals.chart import referrals_section

        chart_sections.register(referrals_section)

        from effleura.core.middleware import PATIENT_RESOLVERS
        from effleura.referrals.models import Referral, Report

        PATIENT_RESOLVERS["referral_id"] = lambda value: (
            Referral.objects.filter(public_id=value).values_list("patient__public_id", flat=True).first()
        )
        PATIENT_RESOLVERS["report_id"] = lambda value: (
            Report.objects.filter(public_id=value).values_list("episode__patient__public_id", flat=True).first()
        )
