"""The demo clinic's referring providers and referrals (referrals/demo.py): four synthetic
providers with valid NPIs, and referrals fresh, nearly used up, expired and not yet valid."""

import pytest
from django.test import override_settings

from effleura.core import clock
from effleura.core.models import User
from effleura.core.npi import is_valid_npi
from effleura.demo import data as demo_data
from effleura.demo import referrals as demo
from effleura.patients.models import Patient
from effleura.referrals.models import Referral, ReferringProvider


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media"))):
        from django.db import transaction

        with transaction.atomic():
            demo_data.load_demo()
            staff = {u.username: u for u in User.objects.filter(is_demo=True)}
            patients = list(Patient.objects.filter(is_demo=True).order_by("pk"))
            first = demo.load_referrals_demo(staff, patients)
            again = demo.load_referrals_demo(staff, patients)
            yield {"first": first, "again": again}
            transaction.set_rollback(True)


@pytest.fixture
def demo_db(loaded, db):
    return loaded


def used(referral) -> int:
    return demo._completed(referral.patient, referral.valid_from, referral.valid_until)


def test_four_synthetic_providers_with_valid_npis(demo_db):
    # effleura.demo.data.load_demo() already loaded them; calling it again adds nothing.
    assert demo_db["first"].providers == 4
    assert not demo_db["again"].created
    providers = list(ReferringProvider.objects.filter(is_demo=True))
    assert len(providers) == 4
    for p in providers:
        assert is_valid_npi(p.npi)
        assert p.phone.startswith("555-")
        assert "(demo)" in p.practice_name


def test_referrals_in_every_state(demo_db):
    today = clock.today()
    referrals = list(Referral.objects.select_related("patient").order_by("pk"))
    assert len(referrals) == demo_db["first"].referrals >= 5
    fresh = [r for r in referrals if r.valid_from <= today <= r.valid_until and r.visits_authorized - used(r) >= 10]
    nearly = [
        r for r in referrals if r.valid_from <= today <= r.valid_until and r.visits_authorized - used(r) in (1, 2)
    ]
    expired = [r for r in referrals if r.valid_until < today]
    not_yet = [r for r in referrals if r.valid_from > today]
    assert fresh and len(nearly) >= 2 and expired and not_yet
    assert fresh[0].original and fresh[0].original_type == "application/pdf"
    assert all(r.patient.is_demo and r.referral_date <= today for r in referrals)
    # the referrals belong to patients with an episode of care, and link to their own
    assert all(r.episode is None or r.episode.patient_id == r.patient_id for r in referrals)
    assert any(used(r) > 0 for r in nearly)


def test_loading_twice_changes_nothing(demo_db):
    assert not demo_db["again"].created
    assert ReferringProvider.objects.count() == 4
