"""Care-team access (issue 12 item 11; core/careteam.py): with the practice setting on, a
therapist sees only the patients on their care team; anyone else's chart, and every record
of that patient, page or API, needs a stated reason ("break-glass"), audited, kept in a
BreakGlass record and shown on the owner's home. Owners, front desk and billing are not
limited. Off by default (and in the demo)."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from test_permissions import url_kwargs  # noqa: F401 (the fixture: real objects for every URL parameter)

from effleura.clinical.models import Episode
from effleura.core import careteam, clock
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent, BreakGlass, Practice

REASON = "Covering for a colleague who is off sick today"


@pytest.fixture
def care_team_on(db):
    practice = Practice.current()
    practice.care_team_only = True
    practice.save()
    clock.forget_practice_zone()
    yield practice
    clock.forget_practice_zone()


@pytest.fixture
def theirs(make_patient, therapist, owner):
    """A patient on the therapist's care team: an episode of care with them."""
    patient = make_patient()
    Episode.objects.create(patient=patient, title="Neck pain", therapist=therapist, created_by=owner)
    return patient


@pytest.fixture
def stranger(make_patient):
    """A patient the therapist has no link to."""
    return make_patient(legal_first_name="Strangerpatient")


def chart(patient):
    return reverse("patients:chart", args=[patient.public_id])


def break_glass(client, patient, reason=REASON, next_url=""):
    return client.post(reverse("patients:break_glass", args=[patient.public_id]), {"reason": reason, "next": next_url})


# Off, the default ---------------------------------------------------------------------------


def test_it_is_off_by_default_and_every_therapist_opens_any_chart(client_for, therapist, stranger):
    assert Practice._meta.get_field("care_team_only").default is False
    assert client_for(therapist).get(chart(stranger)).status_code == 200


def test_the_owner_turns_it_on_from_the_practice_settings(owner, therapist):
    from effleura.core import actions

    clean = actions.check_save_practice(owner, {"name": "Test Clinic", "care_team_only": True})
    actions.do_save_practice(owner, clean)
    assert Practice.current().care_team_only
    assert careteam.is_limited(therapist) and not careteam.is_limited(owner)


def test_the_practice_page_offers_the_setting(client_for, owner):
    page = client_for(owner).get(reverse("core:practice")).content.decode()
    assert 'name="care_team_only"' in page and "Limit therapists to their care team" in page


# On: the care team -------------------------------------------------------------------------


def test_a_therapist_opens_the_chart_of_a_patient_they_have_an_episode_with(
    care_team_on, client_for, therapist, theirs
):
    assert client_for(therapist).get(chart(theirs)).status_code == 200


def test_a_therapist_opens_the_chart_of_a_patient_they_have_an_appointment_with(
    care_team_on, client_for, therapist, book
):
    appointment = book()
    assert client_for(therapist).get(chart(appointment.patient)).status_code == 200


def test_a_cancelled_appointment_does_not_make_a_care_team(care_team_on, client_for, therapist, book):
    appointment = book()
    appointment.status = "cancelled"
    appointment.save()
    assert client_for(therapist).get(chart(appointment.patient)).status_code == 403


def test_a_therapist_opens_the_chart_of_a_patient_they_registered(care_team_on, client_for, therapist):
    from effleura.patients import actions

    data = {
        "legal_first_name": "Newpatient",
        "legal_last_name": "Synthetic",
        "date_of_birth": datetime.date(1990, 1, 1),
    }
    patient = actions.do_create_patient(therapist, actions.check_create_patient(therapist, data))
    assert client_for(therapist).get(chart(patient)).status_code == 200


def test_anyone_elses_chart_shows_the_break_glass_page_and_the_refusal_is_audited(
    care_team_on, client_for, therapist, stranger
):
    response = client_for(therapist).get(chart(stranger))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Not on your care team" in page and reverse("patients:break_glass", args=[stranger.public_id]) in page
    assert "Strangerpatient" not in page  # nothing of the record before the reason
    event = AuditEvent.objects.get(outcome=AuditOutcome.DENIED)
    assert (event.actor_username, event.patient_id, event.detail) == (
        "therapist",
        stranger.public_id,
        "not on care team: patient.view",
    )


@pytest.mark.parametrize(
    "url",
    [
        "patients:history",
        "clinical:patient",
        "referrals:patient_referrals",
    ],
)
def test_every_record_of_that_patient_needs_it_too(care_team_on, client_for, therapist, stranger, url):
    response = client_for(therapist).get(reverse(url, args=[stranger.public_id]))
    assert response.status_code == 403
    assert "Not on your care team" in response.content.decode()


def test_the_records_of_an_episode_need_it_too(care_team_on, client_for, therapist, owner, stranger):
    episode = Episode.objects.create(patient=stranger, title="Back pain", therapist=owner, created_by=owner)
    response = client_for(therapist).get(reverse("clinical:episode", args=[episode.public_id]))
    assert response.status_code == 403 and "Not on your care team" in response.content.decode()


@pytest.mark.parametrize("path", ["/patients/{id}", "/patients/{id}/episodes", "/patients/{id}/health-history"])
def test_the_api_refuses_it_with_the_reason(care_team_on, api_as, therapist, stranger, theirs, path):
    client = api_as(therapist)
    response = client.send("GET", path.format(id=stranger.public_id))
    assert response.status_code == 403
    assert "not on your care team" in response.json()["detail"]
    assert client.send("GET", path.format(id=theirs.public_id)).status_code in (200, 404)
    assert AuditEvent.objects.filter(
        outcome=AuditOutcome.DENIED, patient_id=stranger.public_id, detail__startswith="not on care team"
    ).exists()


@pytest.mark.parametrize("persona", ["owner", "front_desk", "billing"])
def test_owner_front_desk_and_billing_are_not_limited(care_team_on, client_for, request, persona, stranger, api_as):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(chart(stranger)).status_code == 200
    assert api_as(user).send("GET", f"/patients/{stranger.public_id}").status_code == 200


# Break-glass ------------------------------------------------------------------------------------


def test_a_stated_reason_opens_the_chart_for_this_session(care_team_on, client_for, therapist, stranger):
    client = client_for(therapist)
    response = break_glass(client, stranger, next_url=reverse("patients:history", args=[stranger.public_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:history", args=[stranger.public_id])
    assert client.get(chart(stranger)).status_code == 200
    assert client.get(reverse("clinical:patient", args=[stranger.public_id])).status_code == 200
    grant = BreakGlass.objects.get()
    assert (grant.user, grant.patient_id, grant.reason) == (therapist, stranger.public_id, REASON)
    event = AuditEvent.objects.get(record_type="break_glass")
    assert (event.action, event.record_id, event.patient_id) == (
        AuditAction.CREATE,
        str(grant.public_id),
        stranger.public_id,
    )
    assert REASON not in event.detail and "colleague" not in event.detail


def test_the_grant_is_for_this_session_only(care_team_on, client_for, therapist, stranger, api_as):
    break_glass(client_for(therapist), stranger)
    assert client_for(therapist).get(chart(stranger)).status_code == 403  # another session
    assert api_as(therapist).send("GET", f"/patients/{stranger.public_id}").status_code == 403  # a token


def test_the_grant_ends_after_its_time(care_team_on, client_for, therapist, stranger, settings):
    settings.EFFLEURA_BREAK_GLASS_MINUTES = 5  # shorter than the idle logoff, which would end the session first
    client = client_for(therapist)
    break_glass(client, stranger)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=settings.EFFLEURA_BREAK_GLASS_MINUTES + 1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert client.get(chart(stranger)).status_code == 403


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_a_missing_or_short_reason_is_refused_with_a_clear_message(
    care_team_on, client_for, therapist, stranger, reason
):
    client = client_for(therapist)
    response = break_glass(client, stranger, reason=reason)
    assert response.status_code == 400
    assert f"at least {careteam.MIN_REASON} characters" in response.content.decode()
    assert not BreakGlass.objects.exists()
    assert client.get(chart(stranger)).status_code == 403


def test_an_outside_next_address_goes_to_the_chart(care_team_on, client_for, therapist, stranger):
    response = break_glass(client_for(therapist), stranger, next_url="https://evil.example/")
    assert response["Location"] == chart(stranger)


@pytest.mark.parametrize("persona", ["owner", "front_desk", "billing", "outsider"])
def test_break_glass_is_refused_for_every_other_persona(care_team_on, client_for, request, persona, stranger):
    user = request.getfixturevalue(persona)
    response = break_glass(client_for(user), stranger)
    assert response.status_code == 403
    assert not BreakGlass.objects.exists()
    assert AuditEvent.objects.filter(actor_username=user.username, outcome=AuditOutcome.DENIED).exists()


def test_break_glass_needs_no_reason_and_keeps_nothing_when_the_setting_is_off(client_for, therapist, stranger):
    response = break_glass(client_for(therapist), stranger)
    assert (response.status_code, response["Location"]) == (302, chart(stranger))
    assert not BreakGlass.objects.exists()
    assert not AuditEvent.objects.filter(record_type="break_glass").exists()


def test_check_break_glass_refuses_anyone_the_setting_does_not_limit(therapist, owner):
    from django.core.exceptions import PermissionDenied

    for user in (therapist, owner):
        with pytest.raises(PermissionDenied):
            careteam.check_break_glass(user, REASON)


def test_the_owners_home_shows_emergency_access(care_team_on, client_for, therapist, owner, stranger):
    break_glass(client_for(therapist), stranger)
    page = client_for(owner).get(reverse("core:home")).content.decode()
    assert "Emergency access" in page and REASON in page
    assert chart(stranger) in page and therapist.display_name in page
    other = client_for(therapist).get(reverse("core:home")).content.decode()
    assert REASON not in other


# Lists and search -------------------------------------------------------------------------------


def test_the_patient_list_and_search_show_only_the_care_teams_patients(
    care_team_on, client_for, therapist, owner, theirs, stranger, api_as
):
    client = client_for(therapist)
    page = client.get(reverse("patients:list")).content.decode()
    assert theirs.legal_first_name in page and "Strangerpatient" not in page
    found = client.get(reverse("patients:search"), {"q": "Synthetic"}).content.decode()
    assert theirs.legal_first_name in found and "Strangerpatient" not in found
    listed = api_as(therapist).send("GET", "/patients").json()
    assert [p["id"] for p in listed["items"]] == [str(theirs.public_id)]
    assert "Strangerpatient" in client_for(owner).get(reverse("patients:list")).content.decode()


# The calendar is not a chart -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["scheduling:day", "scheduling:week", "scheduling:today"])
def test_the_calendar_still_opens_with_a_colleagues_appointments(
    care_team_on, client_for, django_user_model, book, next_monday, url
):
    book()  # with the therapist
    colleague = django_user_model.objects.create_user(username="colleague", password="x" * 12, role="therapist")
    response = client_for(colleague).get(reverse(url), {"date": next_monday.isoformat()})
    assert response.status_code == 200


# Every URL of one patient's records ---------------------------------------------------------------

# URL parameters that name a patient record (tests/core/test_permissions.py builds each one
# for the same patient, who is on no therapist's care team).
PATIENT_RECORD_KWARGS = {
    "patient_id", "id", "record_id", "appointment_id", "series_id", "entry_id", "episode_id", "treatment_plan",
    "goal_id", "measurement_id", "assessment_id", "note_id", "referral_id", "report_id", "scan_id",
    "package_id", "policy_id", "invoice_id", "payment_id", "charge_id", "claim_id",
}  # fmt: skip

# The documented exemptions (docs/security.md "Care-team access"): none today, the calendar
# pages name no patient record in their URL. A URL added here must be documented there.
EXEMPT: set[str] = set()


def test_every_url_of_a_strangers_records_needs_break_glass(care_team_on, therapist, url_kwargs):  # noqa: F811
    """Each GET a therapist may make (by the table) of a URL naming a record of a patient
    outside their care team answers the break-glass refusal, whatever the view audits."""
    from django.test import Client
    from django.urls import get_resolver
    from test_permissions import _charge_by, _drafts_by, _methods, _url, _walk  # the URL walk

    from effleura.billing.models import Invoice, Policy
    from effleura.core import permissions
    from effleura.scheduling.models import Service

    kwargs = dict(url_kwargs)
    # A therapist's own draft and own visit's charge: the object rules beyond the table pass.
    kwargs.update(_drafts_by(therapist, Episode.objects.get(public_id=url_kwargs["episode_id"])))
    policy = Policy.objects.get(public_id=url_kwargs["policy_id"])
    invoice = Invoice.objects.get(public_id=url_kwargs["invoice_id"])
    kwargs.update(
        _charge_by(therapist, policy.patient, invoice, policy, Service.objects.get(public_id=url_kwargs["service_id"]))
    )
    # url_kwargs' plan_id is billing's package plan (not a patient record); clinical's is not.
    treatment_plan = Episode.objects.get(public_id=url_kwargs["episode_id"]).plans.get().public_id
    client = Client()
    client.force_login(therapist)
    walked, failures = [], []
    for name, pattern in _walk(get_resolver().url_patterns):
        params = set(pattern.pattern.converters)
        if "plan_id" in params and "package_plan" not in name:
            params.add("treatment_plan")
            kwargs["plan_id"] = treatment_plan
        else:
            kwargs["plan_id"] = url_kwargs["plan_id"]
        if not params & PATIENT_RECORD_KWARGS or name in EXEMPT or "GET" not in _methods(name):
            continue
        if not permissions.has_permission(therapist, permissions.url_permission(name, "GET")):
            continue  # refused by role already (tests/core/test_permissions.py)
        response = client.get(_url(name, pattern, kwargs))
        if response.status_code == 405:
            continue  # a form's POST only: it answers no GET
        walked.append(name)
        if response.status_code != 403 or "not on your care team" not in response.content.decode().lower():
            failures.append(f"{name} -> {response.status_code}")
    assert len(walked) > 40
    assert failures == [], "\n".join(failures)


def test_a_look_up_that_audits_its_own_way_is_limited_too(care_team_on, therapist, owner, stranger):
    """access_one(..., audit_it=False): the caller audits later, the care team is asked now."""
    from effleura.core.access import access_one

    episode = Episode.objects.create(patient=stranger, title="Back pain", therapist=owner, created_by=owner)
    with pytest.raises(careteam.BreakGlassRequired):
        access_one(
            therapist, "clinical.view", Episode.objects.all(), episode.public_id, "episode",
            patient_of=lambda row: row.patient, audit_it=False,
        )  # fmt: skip
    assert AuditEvent.objects.filter(outcome=AuditOutcome.DENIED, patient_id=stranger.public_id).exists()


# Lists and exports of patient records ------------------------------------------------------------


def _expired_referral(patient, provider, owner):
    from effleura.referrals.models import Referral

    today = datetime.date.today()
    return Referral.objects.create(
        patient=patient, provider=provider, referral_date=today - datetime.timedelta(days=60),
        diagnosis_codes=["M54.50"], visits_authorized=8, valid_from=today - datetime.timedelta(days=60),
        valid_until=today - datetime.timedelta(days=5), created_by=owner,
    )  # fmt: skip


@pytest.fixture
def provider(db):
    from effleura.referrals.models import ReferringProvider

    return ReferringProvider.objects.create(first_name="Listing", last_name="Provider", npi="1234567893")


def test_the_authorizations_page_and_its_export_show_only_the_care_teams_patients(
    care_team_on, client_for, therapist, owner, theirs, stranger, provider
):
    _expired_referral(theirs, provider, owner)
    _expired_referral(stranger, provider, owner)
    client = client_for(therapist)
    url = reverse("referrals:running_out")
    for answer in (client.get(url), client.get(url, {"format": "csv"})):
        text = answer.content.decode()
        assert answer.status_code == 200
        assert theirs.legal_first_name in text and "Strangerpatient" not in text
    assert "Strangerpatient" in client_for(owner).get(url, {"format": "csv"}).content.decode()


def test_the_provider_page_lists_only_the_care_teams_referred_patients(
    care_team_on, client_for, therapist, owner, theirs, stranger, provider
):
    _expired_referral(theirs, provider, owner)
    _expired_referral(stranger, provider, owner)
    url = reverse("referrals:provider", args=[provider.public_id])
    page = client_for(therapist).get(url).content.decode()
    assert theirs.legal_first_name in page and "Strangerpatient" not in page
    assert "Strangerpatient" in client_for(owner).get(url).content.decode()


def test_the_waitlist_page_and_api_show_only_the_care_teams_patients(
    care_team_on, client_for, api_as, therapist, owner, theirs, stranger, service, location
):
    from effleura.scheduling.models import WaitlistEntry

    for patient in (theirs, stranger):
        WaitlistEntry.objects.create(
            patient=patient, service=service, location=location, duration_minutes=60,
            windows=[{"weekday": 0, "start": "09:00", "end": "12:00"}], created_by=owner,
        )  # fmt: skip
    page = client_for(therapist).get(reverse("scheduling:waitlist")).content.decode()
    assert theirs.legal_first_name in page and "Strangerpatient" not in page
    listed = api_as(therapist).send("GET", "/waitlist").json()["items"]
    assert [e["patient"] if isinstance(e["patient"], str) else e["patient"]["id"] for e in listed] == [
        str(theirs.public_id)
    ]
    assert "Strangerpatient" in client_for(owner).get(reverse("scheduling:waitlist")).content.decode()


def test_the_waitlist_matches_for_a_freed_time_show_only_the_care_teams_patients(
    care_team_on, client_for, therapist, owner, theirs, stranger, service, location, book
):
    from effleura.scheduling.access import access_waitlist_matches
    from effleura.scheduling.models import WaitlistEntry

    appointment = book()  # Monday 10:00 with the therapist
    for patient in (theirs, stranger):
        WaitlistEntry.objects.create(
            patient=patient, service=service, location=location, duration_minutes=60,
            windows=[{"weekday": 0, "start": "08:00", "end": "18:00"}], created_by=owner,
        )  # fmt: skip
    appointment.status = "cancelled"
    appointment.save()
    everyone = {e.patient.public_id for e in access_waitlist_matches(owner, appointment)}
    assert everyone == {theirs.public_id, stranger.public_id}
    assert [e.patient.public_id for e in access_waitlist_matches(therapist, appointment)] == [theirs.public_id]
