"""Progress reports due to referrers and authorizations running out, on a clinician's home
(referrals/home.py): a report is due once ten signed visits were charted since the last
signed report (or since the referral began), or thirty days have passed with a visit."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.clinical.models import SessionNote
from effleura.referrals import home
from effleura.referrals.choices import ReportKind, ReportStatus
from effleura.referrals.models import Report


def today() -> datetime.date:
    return timezone.localdate()


@pytest.fixture
def episode_for(therapist):
    from effleura.clinical import episodes

    def make(patient, lead=therapist):
        clean = episodes.check_open_episode(lead, patient, {"title": "Neck pain (synthetic)", "therapist": lead})
        return episodes.do_open_episode(lead, patient, clean)

    return make


@pytest.fixture
def charted(therapist):
    """charted(episode, days_ago...) -> signed notes on those days (the count is what matters here)."""

    def make(episode, *days_ago):
        for days in days_ago:
            SessionNote.objects.create(
                episode=episode, author=episode.therapist, status="signed",
                session_date=today() - datetime.timedelta(days=days), signed_at=timezone.now(),
            )  # fmt: skip

    return make


@pytest.fixture
def referred(make_patient, make_referral, episode_for):
    """referred(began_days_ago) -> (referral, episode): an open referral tied to an open episode."""

    def make(began_days_ago=3, lead=None, **fields):
        patient = make_patient()
        episode = episode_for(patient, **({"lead": lead} if lead else {}))
        start = today() - datetime.timedelta(days=began_days_ago)
        referral = make_referral(
            patient, episode=episode, referral_date=start, valid_from=start, visits_authorized=30, **fields
        )
        return referral, episode

    return make


def _due(user, mine=True):
    return [(d.referral, d.visits) for d in home.reports_due_for(user, mine)]


def test_a_report_is_due_after_ten_visits_since_the_referral_began(therapist, referred, charted):
    ten, ten_episode = referred(began_days_ago=20)
    charted(ten_episode, *range(1, 11))
    _nine, nine_episode = referred(began_days_ago=20)
    charted(nine_episode, *range(1, 10))
    assert _due(therapist) == [(ten, 10)]


def test_a_report_is_due_thirty_days_after_the_referral_began_with_a_visit(therapist, referred, charted):
    waited, waited_episode = referred(began_days_ago=31)
    charted(waited_episode, 25)
    idle, _idle_episode = referred(began_days_ago=40)  # no visit: nothing to report
    recent, recent_episode = referred(began_days_ago=10)
    charted(recent_episode, 2)
    assert _due(therapist) == [(waited, 1)]
    assert idle and recent


def test_visits_are_counted_from_the_last_signed_report(therapist, referred, charted):
    referral, episode = referred(began_days_ago=60)
    charted(episode, *range(20, 35))  # fifteen visits before the report
    Report.objects.create(
        kind=ReportKind.PROGRESS, referral=referral, episode=episode, author=therapist, status=ReportStatus.SIGNED,
        period_start=today() - datetime.timedelta(days=60), period_end=today() - datetime.timedelta(days=20),
    )  # fmt: skip
    charted(episode, 5, 3)
    assert _due(therapist) == []  # two visits and nineteen days since the report
    charted(episode, *range(6, 14))
    assert _due(therapist) == [(referral, 10)]


def test_a_draft_report_does_not_reset_the_count(therapist, referred, charted):
    referral, episode = referred(began_days_ago=20)
    charted(episode, *range(1, 11))
    Report.objects.create(
        kind=ReportKind.PROGRESS, referral=referral, episode=episode, author=therapist,
        period_start=today() - datetime.timedelta(days=20), period_end=today(),
    )  # fmt: skip
    assert _due(therapist) == [(referral, 10)]


def test_a_therapist_sees_their_own_episodes_and_the_owner_every_one(
    owner, therapist, django_user_model, referred, charted, client_for
):
    colleague = django_user_model.objects.create_user(
        username="colleague", password="x-Synthetic-2026", role="therapist", first_name="Colin", last_name="Tester"
    )
    mine, my_episode = referred(began_days_ago=40)
    charted(my_episode, 5)
    theirs, their_episode = referred(began_days_ago=40, lead=colleague)
    charted(their_episode, 5)
    assert _due(therapist) == [(mine, 1)]
    assert {r for r, _ in _due(owner, mine=False)} == {mine, theirs}
    page = client_for(therapist).get(reverse("core:home")).content.decode()
    assert "Progress reports due" in page
    assert reverse("referrals:report_new", args=[my_episode.public_id]) in page
    assert reverse("referrals:report_new", args=[their_episode.public_id]) not in page


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_other_roles_are_told_of_no_report(role, personas, referred, charted, client_for):
    _referral, episode = referred(began_days_ago=40)
    charted(episode, 5)
    assert "Progress reports due" not in client_for(personas[role]).get(reverse("core:home")).content.decode()


def test_an_authorization_running_out_is_on_the_home_of_the_episodes_therapist(owner, therapist, referred, client_for):
    referral, _episode = referred(began_days_ago=80, valid_until=today() + datetime.timedelta(days=3))
    page = client_for(therapist).get(reverse("core:home")).content.decode()
    assert "Authorizations running out" in page and referral.patient.display_name in page
    assert "Authorizations running out" in client_for(owner).get(reverse("core:home")).content.decode()


def test_the_home_audits_only_the_authorizations_it_shows(therapist, referred, client_for, make_patient, make_referral):
    from effleura.core.models import AuditEvent

    mine, _episode = referred(began_days_ago=80, valid_until=today() + datetime.timedelta(days=3))
    # Another patient's referral running out, on no episode of this therapist.
    elsewhere = make_referral(make_patient(), valid_until=today() + datetime.timedelta(days=3))
    page = client_for(therapist).get(reverse("core:home")).content.decode()
    assert mine.patient.display_name in page and elsewhere.patient.display_name not in page
    audited = set(
        AuditEvent.objects.filter(actor_username="therapist", detail="referrals running out").values_list(
            "patient_id", flat=True
        )
    )
    assert audited == {mine.patient.public_id}
