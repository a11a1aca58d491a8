"""Closures: holidays and dated closures of a location or the whole practice. The rule
(scheduling/closures.py, pure), then what honours it: availability, booking, series
proposals (with other days offered), the waitlist, the calendar, the set-up page and the
API."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from effleura.scheduling import actions, calendars, closures, setup, waitlist
from effleura.scheduling.closures import ClosedDays
from effleura.scheduling.models import Appointment, Closure

DAY = datetime.timedelta(days=1)


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


# The rule (pure) ------------------------------------------------------------------------------


def test_a_dated_closure_covers_its_days_both_ends_included():
    closure = ClosedDays(d("2030-08-05"), d("2030-08-09"), False, "Refurbishment")
    assert [closure.covers(d(f"2030-08-0{n}")) for n in range(4, 11) if n < 10] == [
        False, True, True, True, True, True,
    ]  # fmt: skip
    assert not closure.covers(d("2031-08-06"))  # not repeated


def test_a_yearly_holiday_covers_the_same_date_every_year_from_its_first_year():
    christmas = ClosedDays(d("2026-12-25"), d("2026-12-25"), True, "Christmas Day")
    assert christmas.covers(d("2026-12-25")) and christmas.covers(d("2031-12-25"))
    assert not christmas.covers(d("2025-12-25"))  # before it was set up: the record of that day stands
    assert not christmas.covers(d("2027-12-24")) and not christmas.covers(d("2027-12-26"))


def test_a_yearly_closure_across_new_year_covers_both_sides_of_it_each_year():
    winter = ClosedDays(d("2026-12-24"), d("2027-01-02"), True, "Winter break")
    for day in ("2026-12-24", "2026-12-31", "2027-01-02", "2029-12-28", "2030-01-01"):
        assert winter.covers(d(day)), day
    for day in ("2026-12-23", "2027-01-03", "2029-12-23", "2026-01-01"):
        assert not winter.covers(d(day)), day


@given(
    first=st.dates(min_value=datetime.date(2020, 1, 1), max_value=datetime.date(2035, 12, 31)),
    length=st.integers(min_value=0, max_value=40),
    offset=st.integers(min_value=-60, max_value=4000),
)
def test_a_yearly_closure_covers_a_day_exactly_when_it_covers_that_day_a_year_later(first, length, offset):
    if (first.month, first.day) == (2, 29):
        first -= DAY
    last = first + datetime.timedelta(days=length)
    if (last.month, last.day) == (2, 29):
        last += DAY
    closure = ClosedDays(first, last, True, "Holiday")
    day = first + datetime.timedelta(days=offset)
    if (day.month, day.day) == (2, 29) or day < first:
        return
    assert closure.covers(day) == closure.covers(day.replace(year=day.year + 1))
    dated = ClosedDays(first, last, False, "Once")
    assert dated.covers(day) == (first <= day <= last)


def test_the_closed_days_name_their_reason():
    found = closures.closed_on(
        [ClosedDays(d("2030-12-25"), d("2030-12-25"), True, "Christmas Day")], [d("2030-12-24"), d("2030-12-25")]
    )
    assert found == {d("2030-12-25"): "Christmas Day"}


# Saving --------------------------------------------------------------------------------------


def save(owner, **data):
    return closures.do_save_closure(owner, closures.check_save_closure(owner, data))


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"first_day": "2030-08-09", "last_day": "2030-08-05", "reason": "x"}, "last_day", "can’t be before"),
        ({"first_day": "2030-01-01", "last_day": "2031-06-01", "reason": "x"}, "last_day", "at most a year"),
        ({"first_day": "2028-02-29", "reason": "Leap", "every_year": True}, "first_day", "29 February"),
        ({"first_day": "2030-01-01", "last_day": "2031-01-01", "reason": "x", "every_year": True}, "last_day",
         "shorter than a year"),
        ({"first_day": "2030-01-01", "reason": ""}, "reason", "Say why"),
        ({"first_day": "", "reason": "x"}, "first_day", "Give a date"),
        ({"first_day": "2030-01-01", "reason": "x", "location": "not-an-id"}, "location", "locations"),
    ],
)  # fmt: skip
def test_it_refuses_a_closure_that_makes_no_sense_in_plain_words(owner, location, data, field, words):
    with pytest.raises(ValidationError) as caught:
        closures.check_save_closure(owner, data)
    assert words in " ".join(caught.value.message_dict[field])
    assert not Closure.objects.exists()


def test_a_closure_with_no_last_day_is_one_day_and_with_no_location_the_whole_practice(owner):
    closure = save(owner, first_day="2030-12-25", reason="Christmas Day", every_year=True)
    assert closure.last_day == closure.first_day and closure.location is None
    assert closures.describe(closure) == "Wed 25 Dec 2030 (Christmas Day), every year, at every location"


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_only_the_owner_sets_closures(personas, role):
    with pytest.raises(PermissionDenied):
        closures.check_save_closure(personas[role], {"first_day": "2030-12-25", "reason": "x"})


# What honours it -----------------------------------------------------------------------------


def day_slots(service, location, at, day):
    return calendars.available_slots(service, location, at(day, "00:00"), at(day + DAY, "00:00"))


def test_no_slot_is_offered_on_a_closed_day_and_the_days_around_stay_open(
    owner, service, location, room, hours, next_monday, at
):
    tuesday = next_monday + DAY
    save(owner, location=location, first_day=tuesday, reason="Staff training")
    assert not day_slots(service, location, at, tuesday)
    assert day_slots(service, location, at, next_monday) and day_slots(service, location, at, tuesday + DAY)


def test_a_practice_closure_shuts_every_location_and_a_location_closure_only_its_own(
    owner, therapist, service, location, room, hours, next_monday, at
):
    other = setup.do_save_location(
        owner, setup.check_save_location(owner, {"name": "Ward 4", "time_zone": "America/Chicago"})
    )
    setup.do_save_room(owner, setup.check_save_room(owner, {"location": other, "name": "Bay 1"}))
    from effleura.scheduling import hours as hours_rules

    for weekday in range(5):
        data = {"practitioner": therapist, "location": other, "weekday": weekday, "start": "18:00", "end": "20:00"}
        hours_rules.do_save_working_hours(owner, hours_rules.check_save_working_hours(owner, data))
    wednesday, thursday = next_monday + 2 * DAY, next_monday + 3 * DAY
    save(owner, location=other, first_day=wednesday, reason="Ward deep clean")
    save(owner, first_day=thursday, reason="Founder’s Day")
    assert day_slots(service, location, at, wednesday) and not day_slots(service, other, at, wednesday)
    assert not day_slots(service, location, at, thursday) and not day_slots(service, other, at, thursday)


def test_it_refuses_a_booking_on_a_closed_day_and_says_why(
    owner, front_desk, therapist, service, location, room, hours, make_patient, next_monday, at
):
    tuesday = next_monday + DAY
    save(owner, first_day=tuesday, reason="Christmas Day", every_year=True)
    with pytest.raises(ValidationError) as caught:
        actions.check_book(front_desk, make_patient(), therapist, service, location, at(tuesday, "10:00"))
    words = " ".join(caught.value.messages)
    assert f"Main Street is closed on {tuesday:%a} {tuesday.day} {tuesday:%b %Y} (Christmas Day)." in words
    assert "does not work" not in words  # the closure is the reason, not the hours it removes
    assert not Appointment.objects.exists()


def test_a_series_over_a_closed_day_offers_the_nearest_open_days_instead(
    owner, front_desk, therapist, service, location, room, hours, make_patient, next_monday, at
):
    closed = next_monday + 14 * DAY
    save(owner, first_day=closed, reason="Memorial Day")
    proposals = actions.propose_series(
        front_desk, make_patient(), therapist, service, location, at(next_monday, "10:00"), 4, every_days=7
    )
    assert [p.status for p in proposals] == ["ok", "ok", "conflict", "ok"]
    visit = proposals[2]
    assert visit.closed and "Main Street is closed on" in visit.problem and "(Memorial Day)" in visit.problem
    days = [a.start.astimezone(location.tz).date() for a in visit.alternatives]
    # One per day, at the series' own time, the nearest working days either side: the
    # Friday before and the Tuesday and Wednesday after (the weekend is not worked).
    assert days == [closed - 3 * DAY, closed + DAY, closed + 2 * DAY]
    assert {a.start.astimezone(location.tz).strftime("%H:%M") for a in visit.alternatives} == {"10:00"}


def test_a_series_alternative_never_falls_on_another_visit_of_the_series(
    owner, front_desk, therapist, service, location, room, hours, make_patient, next_monday, at
):
    closed = next_monday + 8 * DAY  # the second Tuesday of a Monday–Tuesday–Wednesday series
    save(owner, first_day=closed, reason="Staff training")
    proposals = actions.propose_series(
        front_desk, make_patient(), therapist, service, location, at(next_monday, "10:00"), 6, weekdays=[0, 1, 2]
    )
    visit = next(p for p in proposals if p.closed)
    planned = {p.start.astimezone(location.tz).date() for p in proposals}
    days = {a.start.astimezone(location.tz).date() for a in visit.alternatives}
    assert days and not days & planned


def test_a_freed_slot_on_a_day_closed_since_has_no_waitlist_match(
    owner, front_desk, book, make_patient, service, location, next_monday, at
):
    appointment = book("10:00")
    waiting = make_patient()
    entry = {"service": service, "location": location, "practitioner": None, "duration_minutes": 60,
             "windows": [{"weekday": next_monday.weekday(), "start": "09:00", "end": "17:00"}]}  # fmt: skip
    waitlist.do_add_waitlist_entry(front_desk, waiting, waitlist.check_add_waitlist_entry(front_desk, waiting, entry))
    cancelled = actions.do_cancel(front_desk, appointment, actions.check_cancel(front_desk, appointment, "Ill"))
    assert waitlist.matches_for_appointment(cancelled)
    save(owner, location=location, first_day=next_monday, reason="Burst pipe")
    assert waitlist.matches_for_appointment(cancelled) == []


def test_saving_a_closure_counts_the_visits_already_booked_on_it(owner, book, next_monday, location):
    book("10:00")
    book("13:00")
    book("10:00", day=next_monday + DAY)
    closure = save(owner, first_day=next_monday, reason="Burst pipe")
    assert closures.visits_on_closed_days(closure, now=datetime.datetime.now(datetime.UTC)) == 2
    assert Appointment.objects.count() == 3  # nothing is moved or cancelled for you


# Pages and API -------------------------------------------------------------------------------


def test_the_owner_adds_a_closure_on_the_set_up_page_and_hears_what_to_move(
    owner, client_for, book, next_monday, location
):
    book("10:00")
    client = client_for(owner)
    page = client.post(
        reverse("scheduling:closure_new"),
        {"location": location.public_id, "first_day": next_monday.isoformat(), "reason": "Burst pipe"},
        follow=True,
    )
    html = page.content.decode()
    assert page.status_code == 200 and "Closure saved" in html
    assert "1 booked visit falls on these days: move or cancel them" in html
    assert "Closures and holidays" in html and "Burst pipe" in html
    closure = Closure.objects.get()
    assert closure.location == location and closure.last_day == next_monday


def test_the_closure_form_explains_a_mistake_and_keeps_what_was_typed(owner, client_for, location):
    page = client_for(owner).post(
        reverse("scheduling:closure_new"), {"first_day": "2030-08-09", "last_day": "2030-08-05", "reason": "Refit"}
    )
    html = page.content.decode()
    assert page.status_code == 200 and "The last day can’t be before the first" in html and 'value="Refit"' in html
    assert not Closure.objects.exists()


def test_the_day_view_says_the_location_is_closed_and_why(owner, client_for, front_desk, location, hours, next_monday):
    save(owner, first_day=next_monday, reason="Thanksgiving", every_year=True)
    url = reverse("scheduling:day") + f"?location={location.public_id}&date={next_monday.isoformat()}"
    html = client_for(front_desk).get(url).content.decode()
    assert "Main Street is closed on this day: Thanksgiving" in html
    html = client_for(front_desk).get(url.replace(next_monday.isoformat(), (next_monday + DAY).isoformat()))
    assert "is closed on this day" not in html.content.decode()


def test_the_api_creates_lists_and_removes_closures(owner, front_desk, api_as, location):
    api = api_as(owner)
    made = api.send("POST", "/closures", {"first_day": "2030-12-25", "reason": "Christmas Day",
                                                      "every_year": True})  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["location"] is None and body["last_day"] == "2030-12-25" and body["every_year"] is True
    refit = {
        "first_day": "2030-08-05",
        "last_day": "2030-08-09",
        "reason": "Refit",
        "location": str(location.public_id),
    }
    ward = api.send("POST", "/closures", refit)
    assert ward.status_code == 201
    listed = api_as(front_desk).send("GET", f"/closures?location={location.public_id}").json()
    assert {c["reason"] for c in listed["items"]} == {"Christmas Day", "Refit"}
    later = api.send("GET", "/closures?start=2030-09-01").json()
    assert [c["reason"] for c in later["items"]] == ["Christmas Day"]  # yearly ones always may apply
    bad = api.send("POST", "/closures", {"first_day": "2030-08-09", "last_day": "2030-08-01", "reason": "x"})
    assert bad.status_code == 422 and "can’t be before the first (9 Aug 2030)" in bad.json()["errors"]["last_day"]
    refused = api_as(front_desk).send("POST", "/closures", {"first_day": "2030-01-01", "reason": "x"})
    assert refused.status_code == 403
    gone = api.send("DELETE", f"/closures/{body['id']}")
    assert gone.status_code == 204
    assert list(Closure.objects.values_list("reason", flat=True)) == ["Refit"]


def test_the_demo_practice_is_closed_on_christmas_and_new_years_day():
    from effleura.demo import scheduling as demo

    reasons = {c["reason"]: c for c in demo.SETUP["closures"]}
    assert reasons["Christmas Day"]["first_day"].endswith("-12-25") and reasons["Christmas Day"]["every_year"]
    assert reasons["New Year’s Day"]["first_day"].endswith("-01-01") and reasons["New Year’s Day"]["every_year"]


def test_editing_the_closure_of_a_location_since_deactivated_keeps_it_to_that_location(owner, client_for, location):
    closure = save(owner, location=location, first_day="2030-08-05", reason="Refit")
    setup.do_save_location(owner, setup.check_save_location(owner, {"is_active": False}, location), location)
    url = reverse("scheduling:closure_edit", args=[closure.public_id])
    page = client_for(owner).get(url).content.decode()
    assert f'<option value="{location.public_id}" selected>' in page
    form = {"location": str(location.public_id), "first_day": "2030-08-05", "last_day": "2030-08-06",
            "reason": "Refit", "version": str(closure.version)}  # fmt: skip
    assert client_for(owner).post(url, form).status_code == 302
    closure.refresh_from_db()
    assert closure.location == location and closure.last_day == datetime.date(2030, 8, 6)
