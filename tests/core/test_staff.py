"""Owners manage staff accounts and roles; nobody else can."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from effleura.core import access
from effleura.core.models import AuditEvent, Practice, User


def _form(**overrides):
    data = {
        "username": "newtherapist",
        "first_name": "Nova",
        "last_name": "Tester",
        "credentials": "LMT",
        "email": "nova@example.test",
        "role": "therapist",
        "is_active": "on",
        "password": "a-long-enough-passphrase-1",
    }
    data.update(overrides)
    return data


def test_an_owner_adds_a_therapist_who_can_then_sign_in(client_for, owner, client):
    response = client_for(owner).post(reverse("core:staff_create"), _form())
    assert response.status_code == 302
    member = User.objects.get(username="newtherapist")
    assert member.role == "therapist"
    client.post(reverse("core:login"), {"username": "newtherapist", "password": "a-long-enough-passphrase-1"})
    assert "_auth_user_id" in client.session
    assert AuditEvent.objects.filter(record_type="user", action="create", record_id=str(member.public_id)).exists()


def test_it_refuses_a_taken_username_or_a_weak_password(client_for, owner, therapist):
    client = client_for(owner)
    taken = client.post(reverse("core:staff_create"), _form(username="THERAPIST"))
    assert "already has this username" in taken.content.decode()
    weak = client.post(reverse("core:staff_create"), _form(password="password"))
    assert "too common" in weak.content.decode() or "too short" in weak.content.decode()
    assert not User.objects.filter(username="newtherapist").exists()


def test_an_owner_changes_a_role_and_suspends_an_account(client_for, owner, front_desk):
    client = client_for(owner)
    url = reverse("core:staff_edit", args=[front_desk.public_id])
    client.post(url, _form(username="front_desk", role="billing", password=""))
    front_desk.refresh_from_db()
    assert front_desk.role == "billing"
    data = _form(username="front_desk", role="billing", password="")
    del data["is_active"]
    client.post(url, data)
    front_desk.refresh_from_db()
    assert not front_desk.is_active


def test_the_last_owner_cannot_demote_themselves(client_for, owner):
    response = client_for(owner).post(
        reverse("core:staff_edit", args=[owner.public_id]), _form(username="owner", role="therapist", password="")
    )
    assert "at least one active owner" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == "owner"


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_manages_staff(role, personas, client_for):
    client = client_for(personas[role])
    assert client.get(reverse("core:staff_list")).status_code == 403
    assert client.post(reverse("core:staff_create"), _form()).status_code == 403
    assert not User.objects.filter(username="newtherapist").exists()


def test_an_owner_names_the_practice_and_every_page_shows_it(client_for, owner, therapist):
    response = client_for(owner).post(
        reverse("core:practice"),
        {
            "name": "Riverside Clinical Massage",
            "phone": "(503) 555-0199",
            "time_zone": "America/Los_Angeles",
            "decimal_separator": ".",
            "largest_amount": "1000000.00",
            "start_window_minutes": "30",
            "phone_region": "US",
        },
    )
    assert response.status_code == 302
    page = client_for(therapist).get(reverse("core:home"))
    assert "Riverside Clinical Massage" in page.content.decode()
    assert AuditEvent.objects.filter(record_type="practice", actor_username="owner").exists()


def test_it_refuses_a_practice_without_a_name(client_for, owner):
    response = client_for(owner).post(reverse("core:practice"), {"name": "  "})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode() or "needs a name" in response.content.decode()


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_edits_the_practice(role, personas, client_for):
    response = client_for(personas[role]).post(reverse("core:practice"), {"name": "Taken over"})
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_it_refuses_and_audits_a_read_of_the_staff_accounts_outside_a_page(role, personas):
    with pytest.raises(PermissionDenied):
        access.access_staff_list(personas[role])
    with pytest.raises(PermissionDenied):
        access.access_staff_member(personas[role], personas["owner"].public_id)
    assert AuditEvent.objects.filter(record_type="user", outcome="denied").count() == 2


def test_it_answers_404_for_a_member_of_staff_who_does_not_exist(client_for, owner):
    client = client_for(owner)
    assert client.get(reverse("core:staff_edit", args=[uuid.uuid4()])).status_code == 404


def test_the_staff_list_does_a_fixed_number_of_queries(client_for, owner, therapist, django_assert_num_queries):
    client = client_for(owner)
    client.get(reverse("core:staff_list"))
    with django_assert_num_queries(5):  # session, user, demo flag, the accounts, their lockouts
        client.get(reverse("core:staff_list"))
    for n in range(5):
        User.objects.create_user(username=f"extra{n}", password="a-long-enough-passphrase-1")
    with django_assert_num_queries(5):
        client.get(reverse("core:staff_list"))


def test_it_shows_a_bad_npi_a_taken_username_and_a_weak_password_at_once(client_for, owner, therapist):
    page = client_for(owner).post(
        reverse("core:staff_create"), _form(username="THERAPIST", npi="1234567890", password="password")
    )
    text = page.content.decode()
    assert "3 problems need fixing before this can be saved" in text
    assert "already has this username" in text and "not a valid NPI" in text
    assert "too common" in text or "too short" in text
    assert not User.objects.filter(npi="1234567890").exists()


def test_the_practice_page_reads_its_numbers_and_shows_every_problem(client_for, owner):
    settings = {"time_zone": "America/Chicago", "decimal_separator": ".", "largest_amount": "1000000.00"}
    settings |= {"start_window_minutes": "30", "phone_region": "US"}
    data = settings | {"name": "", "phone": "12", "fax": "+44 20 7946 0958", "npi": "123"}
    text = client_for(owner).post(reverse("core:practice"), data).content.decode()
    assert "3 problems need fixing before this can be saved" in text
    assert '<a href="#id_phone">' in text and '<a href="#id_name">' in text and '<a href="#id_npi">' in text
    data = settings | {"name": "Clinic", "phone": "503 555 0100", "fax": "+44 20 7946 0958"}
    assert client_for(owner).post(reverse("core:practice"), data).status_code == 302
    practice = Practice.objects.get()
    assert (practice.phone, practice.fax) == ("(503) 555-0100", "+44 20 7946 0958")


def test_the_practice_numbers_are_read_in_the_country_saved_with_them(client_for, owner):
    data = {"name": "Clinic", "phone": "020 7946 0958", "phone_region": "GB", "time_zone": "Europe/London"}
    data |= {"decimal_separator": ".", "largest_amount": "1000000.00", "start_window_minutes": "30"}
    assert client_for(owner).post(reverse("core:practice"), data).status_code == 302
    assert Practice.objects.get().phone == "020 7946 0958"


@pytest.mark.django_db
def test_createsuperuser_makes_an_owner_who_can_open_the_staff_page(client, monkeypatch):
    """README's "Running it for real": `effleura createsuperuser`, then the Staff page. A
    superuser with no role could sign in but see nothing, the Staff page included."""
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-owner-passphrase-7")
    call_command("createsuperuser", interactive=False, username="Boss", email="Boss@EXAMPLE.test", verbosity=0)
    boss = User.objects.get(username="Boss")
    assert (boss.role, boss.is_active, boss.email) == ("owner", True, "Boss@example.test")
    assert boss.check_password("first-owner-passphrase-7")
    client.force_login(boss)
    assert client.get(reverse("core:staff_list")).status_code == 200
    created = AuditEvent.objects.get(record_type="user", record_id=str(boss.public_id))
    assert (created.action, created.actor_id, created.client_address) == ("create", None, "cli")
    assert created.detail == "role=owner active=True"
