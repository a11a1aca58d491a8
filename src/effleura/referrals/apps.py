from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "effleura.referrals"
    label = "referrals"
    verbose_name = "Referrals: referring providers, authorizations and reports back"
