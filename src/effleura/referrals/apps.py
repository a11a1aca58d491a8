from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "effleura.referrals"
    label = "referrals"
    verbose_name = "Referrals: referring providers, authorizations and reports back"

    def ready(self) -> None:
        from effleura.core import extension_points
        from effleura.core.extension_points import register_patient_url
        from effleura.referrals import resources

        resources.register_all()  # the provider's pages join the permission table
        from effleura.referrals.authorization_warnings import authorization_badges, booking_warnings
        from effleura.referrals.chart import referrals_section
        from effleura.referrals.models import EarlierScan, Referral, Report

        # Authorization warnings where people look (referrals/authorization_warnings.py):
        # a badge on calendar entries and a confirmation before booking past the limit.
        extension_points.calendar_badges.register(authorization_badges)
        extension_points.booking_warnings.register(booking_warnings)
        extension_points.chart_sections.register(referrals_section)
        # The home page: reports due to referrers, authorizations running out (referrals/home.py).
        from effleura.referrals.home import authorizations_running_out, reports_due

        extension_points.home_sections.register(reports_due)
        extension_points.home_sections.register(authorizations_running_out)
        register_patient_url("referral_id", Referral)
        register_patient_url("report_id", Report, "episode__patient__public_id")
        register_patient_url("scan_id", EarlierScan, "referral__patient__public_id")
