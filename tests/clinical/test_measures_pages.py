"""Outcome measures on the therapist's tablet: every measure scored exactly as PRODUCT.md's
table says (missing-item rules included) through the real form, refusals for every role
without clinical access, and the progress page's data tables."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import Goal, OutcomeMeasurement, SessionNote, TreatmentPlan
from effleura.core.models import AuditEvent

TODAY = datetime.date.today()


@pytest.fixture
def ep(episode):
    """The shared open episode, opened two months ago so measures can be dated back."""
    episode.opened_on = TODAY - datetime.timedelta(days=60)
    episode.save(update_fields=["opened_on"])
    return episode


def new_url(ep, measure=""):
    url = reverse("clinical:measure_new", args=[ep.public_id])
    return f"{url}?measure={measure}" if measure else url


def post_items(client, ep, measure, answers, **extra):
    """Send the tablet form: item_1..item_n, "skip" (or blank) for None."""
    data = {"measure": measure, **extra}
    for n, answer in enumerate(answers, start=1):
        data[f"item_{n}"] = "skip" if answer is None else str(answer)
    return client.post(new_url(ep), data)


def post_psfs(client, ep, rows, **extra):
    data = {"measure": "psfs", **extra}
    for n, (name, rating) in enumerate(rows, start=1):
        data[f"activity_{n}"] = name
        data[f"rating_{n}"] = "skip" if rating is None else str(rating)
    return client.post(new_url(ep), data)


def saved(ep):
    return list(OutcomeMeasurement.objects.filter(episode=ep).order_by("id"))


# Scoring through the form: PRODUCT.md "Outcome measures (exact scoring)" ---------------


@pytest.mark.parametrize(
    ("measure", "answers", "score", "unit", "band"),
    [
        ("nprs", [7], 7.0, "/10", ""),
        # ODI: sum / (5 x sections answered) x 100: 20 / 50 = 40 %, band 21-40 moderate.
        ("odi", [2, 3, 1, 0, 4, 2, 3, 1, 2, 2], 40.0, "%", "moderate disability"),
        # One section unanswered: the denominator shrinks by 5: 18 / 45 = 40 %.
        ("odi", [2, 3, 1, 0, 4, 2, 3, 1, 2, None], 40.0, "%", "moderate disability"),
        # 9 / 50 = 18 %: minimal (0-20).
        ("odi", [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], 18.0, "%", "minimal disability"),
        ("ndi", [5, 5, 5, 5, 5, 5, 5, 5, 5, None], 100.0, "%", "complete disability"),
        # QuickDASH: ((sum / n) - 1) x 25; all 3s = 50, with one item missing still 50.
        ("quickdash", [3] * 11, 50.0, "/100", ""),
        ("quickdash", [3] * 10 + [None], 50.0, "/100", ""),
        ("quickdash", [1] * 11, 0.0, "/100", ""),
        # LEFS: the sum, 0-80.
        ("lefs", [3] * 20, 60.0, "/80", ""),
        ("lefs", [4] * 20, 80.0, "/80", ""),
    ],
)
def test_a_measure_answered_on_the_tablet_is_scored_and_saved(
    ep, therapist, client_for, measure, answers, score, unit, band
):
    response = post_items(client_for(therapist), ep, measure, answers, taken_on=str(TODAY))
    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:measures", args=[ep.public_id])
    (m,) = saved(ep)
    assert (m.measure, m.score, m.unit, m.band) == (measure, score, unit, band)
    assert m.answers == answers
    assert m.recorded_by == therapist
    assert m.taken_on == TODAY


def test_psfs_names_its_activities_and_averages_those_rated(ep, therapist, client_for):
    rows = [("Climbing stairs", 4), ("Lifting a grandchild", 6), ("Gardening", None), ("", None), ("", None)]
    response = post_psfs(client_for(therapist), ep, rows)
    assert response.status_code == 302
    (m,) = saved(ep)
    assert m.labels == ["Climbing stairs", "Lifting a grandchild", "Gardening"]
    assert m.answers == [4, 6, None]
    assert m.score == 5.0  # mean of those rated: (4 + 6) / 2
    assert m.unit == "/10"


# Missing-item rules end to end: refused with the reason, nothing saved ------------------


@pytest.mark.parametrize(
    ("measure", "answers", "why"),
    [
        ("nprs", [None], "NPRS needs the number"),
        ("odi", [None] * 10, "No section"),
        ("ndi", [None] * 10, "No section"),
        ("quickdash", [3] * 9 + [None, None], "more than 1 missing"),
        ("lefs", [3] * 19 + [None], "every item must be answered"),
    ],
)
def test_too_many_unanswered_items_are_refused_with_the_reason_and_nothing_is_saved(
    ep, therapist, client_for, measure, answers, why
):
    response = post_items(client_for(therapist), ep, measure, answers)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Not scored:" in page
    assert why in page
    assert saved(ep) == []
    assert not AuditEvent.objects.filter(record_type="outcome_measurement").exists()


def test_a_refused_form_keeps_the_answers_given(ep, therapist, client_for):
    response = post_items(client_for(therapist), ep, "lefs", [2] * 19 + [None])
    page = response.content.decode()
    assert page.count('value="2" checked') == 19


def test_psfs_needs_three_activities(ep, therapist, client_for):
    response = post_psfs(client_for(therapist), ep, [("Walking", 5), ("Sitting", 6)])
    assert response.status_code == 422
    assert "needs 3 to 5 activities" in response.content.decode()
    assert saved(ep) == []


def test_psfs_with_no_activity_rated_is_refused(ep, therapist, client_for):
    response = post_psfs(client_for(therapist), ep, [("Walking", None), ("Sitting", None), ("Driving", None)])
    assert response.status_code == 422
    assert "No PSFS activity is rated" in response.content.decode()


def test_a_psfs_rating_without_an_activity_name_is_refused(ep, therapist, client_for):
    response = post_psfs(client_for(therapist), ep, [("Walking", 5), ("", 6), ("Driving", 3), ("Sitting", 4)])
    assert response.status_code == 422
    assert "Name the activity this rating is for." in response.content.decode()
    assert saved(ep) == []


def test_an_answer_outside_the_scale_is_refused(ep, therapist, client_for):
    response = post_items(client_for(therapist), ep, "odi", [6] + [1] * 9)
    assert response.status_code == 422
    assert "Choose an answer from 0 to 5." in response.content.decode()
    assert saved(ep) == []


def test_a_measure_cannot_be_dated_ahead_or_before_the_episode(ep, therapist, client_for):
    client = client_for(therapist)
    ahead = post_items(client, ep, "nprs", [5], taken_on=str(TODAY + datetime.timedelta(days=1)))
    before = post_items(client, ep, "nprs", [5], taken_on=str(ep.opened_on - datetime.timedelta(days=1)))
    assert ahead.status_code == before.status_code == 422
    assert "future" in ahead.content.decode()
    assert "opened on" in before.content.decode()
    assert saved(ep) == []


def test_a_discharged_episode_takes_no_new_measure(ep, therapist, client_for):
    ep.status = "discharged"
    ep.save(update_fields=["status"])
    response = post_items(client_for(therapist), ep, "nprs", [5])
    assert response.status_code == 422
    assert "discharged" in response.content.decode()
    assert saved(ep) == []


def test_recording_is_audited_with_the_patient(ep, therapist, client_for):
    post_items(client_for(therapist), ep, "nprs", [4])
    (m,) = saved(ep)
    event = AuditEvent.objects.get(record_type="outcome_measurement")
    assert event.action == "create"
    assert event.record_id == str(m.public_id)
    assert event.patient_id == ep.patient.public_id
    assert event.detail == "measure recorded"
    assert event.actor_username == "therapist"


# The form itself ----------------------------------------------------------------------


def test_the_form_shows_each_item_with_a_radio_per_answer_and_skip_where_allowed(ep, therapist, client_for):
    client = client_for(therapist)
    odi = client.get(new_url(ep, "odi")).content.decode()
    assert len(re.findall(r'type="radio" name="item_1" ', odi)) == 7  # 0-5 and skip
    assert 'name="item_10"' in odi and 'name="item_11"' not in odi
    assert 'value="skip"' in odi
    lefs = client.get(new_url(ep, "lefs")).content.decode()
    assert len(re.findall(r'type="radio" name="item_20" ', lefs)) == 5  # 0-4, no skip
    assert 'value="skip"' not in lefs
    quickdash = client.get(new_url(ep, "quickdash")).content.decode()
    assert 'name="item_1" value="1"' in quickdash and 'name="item_1" value="0"' not in quickdash
    psfs = client.get(new_url(ep, "psfs")).content.decode()
    assert 'name="activity_5"' in psfs and 'name="rating_5" value="10"' in psfs


def test_without_a_measure_the_form_offers_the_choice(ep, therapist, client_for):
    page = client_for(therapist).get(new_url(ep)).content.decode()
    for key in ("nprs", "odi", "ndi", "quickdash", "lefs", "psfs"):
        assert f"?measure={key}" in page


# Refusals per role --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_roles_without_clinical_access_see_no_measures(ep, personas, client_for, role, therapist):
    OutcomeMeasurement.objects.create(
        episode=ep, measure="nprs", answers=[6], score=6, unit="/10", recorded_by=therapist
    )
    m = OutcomeMeasurement.objects.get()
    client = client_for(personas[role])
    urls = [
        reverse("clinical:measures", args=[ep.public_id]),
        new_url(ep, "nprs"),
        reverse("clinical:measurement", args=[ep.public_id, m.public_id]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "6/10" not in response.content.decode()
    assert post_items(client, ep, "nprs", [3]).status_code == 403
    assert OutcomeMeasurement.objects.count() == 1
    assert AuditEvent.objects.filter(outcome="denied", actor_username=role).count() >= 4


def test_the_owner_records_measures_too(ep, owner, client_for):
    assert post_items(client_for(owner), ep, "nprs", [3]).status_code == 302
    assert saved(ep)[0].recorded_by == owner


def test_a_measurement_of_another_episode_is_not_found(ep, therapist, client_for, make_patient):
    from effleura.clinical.models import Episode

    other = Episode.objects.create(
        patient=make_patient(), title="Other (synthetic)", therapist=therapist, created_by=therapist
    )
    m = OutcomeMeasurement.objects.create(
        episode=other, measure="nprs", answers=[6], score=6, unit="/10", recorded_by=therapist
    )
    response = client_for(therapist).get(reverse("clinical:measurement", args=[ep.public_id, m.public_id]))
    assert response.status_code == 404


# The progress page --------------------------------------------------------------------


def record(client, ep, measure, answers, days_ago):
    response = post_items(client, ep, measure, answers, taken_on=str(TODAY - datetime.timedelta(days=days_ago)))
    assert response.status_code == 302, response.content.decode()


def table_rows(page: str, key: str) -> list[list[str]]:
    """The data table of chart ``key``: its body rows as lists of cell texts."""
    table = re.search(rf'<table class="progress-table" data-progress-table="{key}">(.*?)</table>', page, re.S)
    assert table, f"no data table for {key}"
    body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S).group(1)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture
def history(ep, therapist, client_for):
    """An ODI going from 60 % to 40 % to 30 %, NPRS 8 then a signed session note's pain 5
    (a draft's would not be charted: tests/clinical/test_signed_data.py), and a plan goal
    "ODI under 20 %"."""
    client = client_for(therapist)
    record(client, ep, "odi", [3] * 10, 50)  # 30 / 50 = 60 %
    record(client, ep, "odi", [2] * 10, 30)  # 40 %
    record(client, ep, "odi", [2, 2, 2, 2, 1, 1, 1, 1, 1, 2], 10)  # 15 / 50 = 30 %
    record(client, ep, "nprs", [8], 50)
    SessionNote.objects.create(
        episode=ep, author=therapist, session_date=TODAY - datetime.timedelta(days=5), pain_now=5,
        status=RecordStatus.SIGNED, signed_at=timezone.now(),
    )  # fmt: skip
    plan = TreatmentPlan.objects.create(
        episode=ep, sessions_per_week=2, weeks=4, session_minutes=60, created_by=therapist
    )
    Goal.objects.create(plan=plan, description="ODI under 20%", measure="odi", baseline=60, target=20)
    Goal.objects.create(plan=plan, description="Pain from 8 to 3", measure="nprs", baseline=8, target=3)
    return client


def test_each_measure_has_a_chart_and_a_data_table_of_its_values(ep, history):
    page = history.get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    d = lambda days: str(TODAY - datetime.timedelta(days=days))  # noqa: E731
    assert table_rows(page, "odi") == [
        [d(50), "60", "severe disability"],
        [d(30), "40", "moderate disability"],
        [d(10), "30", "moderate disability"],
    ]
    assert table_rows(page, "pain") == [[d(50), "8", "NPRS"], [d(5), "5", "Session note"]]
    assert 'canvas data-progress="progress-odi"' in page
    assert 'id="progress-odi" type="application/json"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert "clinical/progress.js" in page


def test_the_goal_is_drawn_as_a_line_and_listed(ep, history):
    page = history.get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    data = re.search(r'<script id="progress-odi" type="application/json">(.*?)</script>', page, re.S).group(1)
    import json

    chart = json.loads(data)
    assert chart["goals"] == [{"label": "Goal: ODI under 20%", "value": 20.0}]
    assert chart["series"] == [{"label": "Oswestry Disability Index", "values": [60.0, 40.0, 30.0]}]
    assert "Goal: ODI under 20% — target 20%" in page
    assert "Goal: Pain from 8 to 3 — target 3/10" in page


def test_pain_is_one_line_of_nprs_and_session_note_ratings(ep, history):
    import json

    page = history.get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    data = re.search(r'<script id="progress-pain" type="application/json">(.*?)</script>', page, re.S).group(1)
    chart = json.loads(data)
    assert chart["dates"] == [str(TODAY - datetime.timedelta(days=50)), str(TODAY - datetime.timedelta(days=5))]
    assert chart["series"] == [{"label": "Pain (0–10)", "values": [8.0, 5.0]}]
    assert chart["goals"] == [{"label": "Goal: Pain from 8 to 3", "value": 3.0}]
    assert (chart["min"], chart["max"]) == (0, 10)


def test_first_versus_last_says_whether_the_change_reaches_the_mcid(ep, history):
    page = history.get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    # ODI 60 -> 30: 30 points better, MCID 10 points.
    assert "30 points better. MCID 10 points: reached." in page
    # Pain 8 (NPRS) -> 5 (session note): 3 points better, by both NPRS rules.
    assert "3 points better. MCID 2 points or 30%: reached by both rules" in page


def test_a_single_measurement_has_no_change_yet(ep, therapist, client_for):
    client = client_for(therapist)
    record(client, ep, "lefs", [2] * 20, 3)
    page = client.get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    assert "One measurement so far: 40/80" in page
    assert table_rows(page, "lefs") == [[str(TODAY - datetime.timedelta(days=3)), "40"]]


def test_the_page_without_measures_says_so(ep, therapist, client_for):
    page = client_for(therapist).get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    assert "No outcome measures recorded" in page
    assert "chart.umd.min.js" not in page


def test_the_measurement_page_lists_each_answer(ep, history):
    m = OutcomeMeasurement.objects.filter(measure="odi").first()
    page = history.get(reverse("clinical:measurement", args=[ep.public_id, m.public_id])).content.decode()
    assert "60%" in page
    assert page.count("<td>3") >= 10


def test_the_progress_page_does_a_bounded_number_of_queries(ep, history, django_assert_max_num_queries):
    url = reverse("clinical:measures", args=[ep.public_id])
    history.get(url)
    with django_assert_max_num_queries(12) as few:
        history.get(url)
    count = len(few)  # now: the next request empties Django's query log
    for days in range(1, 9):
        record(history, ep, "ndi", [1] * 10, days)
        SessionNote.objects.create(episode=ep, author=ep.therapist, pain_now=4)
    with django_assert_max_num_queries(count):
        history.get(url)
