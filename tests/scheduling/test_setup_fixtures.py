"""The shared scheduling fixtures are what other tests rely on."""

import datetime


def test_fixtures_describe_the_main_street_clinic(location, room, room2, service, hours, next_monday, at, therapist):
    assert location.name == "Main Street" and location.time_zone == "America/Chicago"
    assert sorted(location.opening_hours.values_list("weekday", flat=True)) == [0, 1, 2, 3, 4, 5]
    assert {room.name, room2.name} == {"Room 1", "Room 2"} and room.location == room2.location == location
    assert service.durations == [60, 30] and service.changeover_minutes == 15 and service.needs_room
    assert list(service.practitioners.all()) == [therapist]
    assert len(hours) == 5
    assert next_monday.weekday() == 0
    assert (next_monday - datetime.date.today()).days >= 2
    start = at(next_monday, "09:00")
    assert start.utcoffset() is not None and start.hour == 9


def test_book_makes_a_visit_through_the_booking_action(book, next_monday, at, therapist, room):
    visit = book("11:00")
    assert (visit.start, visit.practitioner, visit.duration_minutes, visit.status) == (
        at(next_monday, "11:00"),
        therapist,
        60,
        "booked",
    )
    assert visit.room == room and visit.changes.count() == 1
