"""No lost edits on the practice settings page (issue 11): the one Practice row carries a
version, the page posts the version it was loaded with, and a save over a newer one is
refused (409), naming what the other person changed and keeping this person's input."""

from django.urls import reverse
from html_forms import form_fields

from effleura.core.models import Practice


def test_a_stale_save_of_the_practice_settings_is_refused_and_keeps_the_input(db, client_for, owner):
    from effleura.core import actions

    practice = actions.do_save_practice(owner, actions.check_save_practice(owner, {"name": "Synthetic Massage"}))
    assert practice.version == 2  # the defaults before the first save were version 1
    url = reverse("core:practice")
    tab_a, tab_b = client_for(owner), client_for(owner)
    form_a, form_b = form_fields(tab_a.get(url).content), form_fields(tab_b.get(url).content)
    assert form_a["version"] == str(practice.version)
    assert tab_a.post(url, {**form_a, "name": "Synthetic Massage (A)", "phone": "555-0101"}).status_code == 302

    answer = tab_b.post(url, {**form_b, "name": "Synthetic Massage (B)"})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "after you opened it" in page and "Synthetic Massage (A)" in page and "Synthetic Massage (B)" in page
    saved = Practice.current()
    assert (saved.name, saved.version) == ("Synthetic Massage (A)", practice.version + 1)

    again = form_fields(page)
    assert again["version"] == str(saved.version) and again["name"] == "Synthetic Massage (B)"
    assert tab_b.post(url, again).status_code == 302
    assert Practice.current().name == "Synthetic Massage (B)"


def test_two_pages_opened_before_the_first_save_cannot_both_save(db, client_for, owner):
    url = reverse("core:practice")
    tab_a, tab_b = client_for(owner), client_for(owner)
    form_a, form_b = form_fields(tab_a.get(url).content), form_fields(tab_b.get(url).content)
    assert form_a["version"] == form_b["version"] == "1"
    assert tab_a.post(url, {**form_a, "name": "Synthetic Massage (A)"}).status_code == 302
    assert tab_b.post(url, {**form_b, "name": "Synthetic Massage (B)"}).status_code == 409
    assert Practice.current().name == "Synthetic Massage (A)"
