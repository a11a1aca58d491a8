"""Signed data only (issue 11): charts, progress reports, discharge summaries and the API
use signed notes and measurements not taken at a draft note; a draft is listed as a draft,
never plotted nor counted (clinical/measures.py COUNTED, signed_only, is_draft)."""

import datetime
import json
import re

import pytest
from django.urls import reverse

from effleura.clinical import access, discharge, measures, notes
from effleura.clinical.choices import RecordStatus
from effleura.referrals import reports

TODAY = datetime.date.today()
DAY = datetime.timedelta(days=1)


@pytest.fixture
def ep(episode):
    episode.opened_on = TODAY - 30 * DAY
    episode.save(update_fields=["opened_on"])
    return episode


def note(actor, episode, *, pain, on, sign=True):
    """A bedside note of ``episode`` on ``on`` with "pain now" ``pain``, signed or a draft."""
    draft = notes.do_start_note(actor, notes.check_start_note(actor, episode=episode))
    draft = access.access_note(actor, draft.public_id, audit_it=False)
    data = {"subjective": "Synthetic", "pain_now": pain, "session_date": on.isoformat()}
    draft = notes.do_update_note(actor, draft, notes.check_update_note(actor, draft, data))
    if not sign:
        return draft
    draft = access.access_note(actor, draft.public_id, audit_it=False)
    return notes.do_sign_note(actor, draft, notes.check_sign_note(actor, draft))


def measure(actor, episode, key, answers, on, at_note=None):
    data = {"measure": key, "answers": answers, "taken_on": on, "note": at_note}
    return measures.do_record_measure(actor, episode, measures.check_record_measure(actor, episode, data))


ODI_40 = [2, 3, 1, 0, 4, 2, 3, 1, 2, 2]  # 40 %
ODI_18 = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]  # 18 %
ODI_60 = [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]  # 60 %


@pytest.fixture
def record(ep, therapist):
    """A signed note (pain 7) and a draft (pain 2); ODI 40 % on its own, 60 % at the signed
    note, 18 % at the draft; NPRS 6 at the draft."""
    signed = note(therapist, ep, pain=7, on=TODAY - 10 * DAY)
    draft = note(therapist, ep, pain=2, on=TODAY - 2 * DAY, sign=False)
    measure(therapist, ep, "odi", ODI_40, TODAY - 20 * DAY)
    measure(therapist, ep, "odi", ODI_60, TODAY - 10 * DAY, at_note=signed)
    measure(therapist, ep, "odi", ODI_18, TODAY - 2 * DAY, at_note=draft)
    measure(therapist, ep, "nprs", [6], TODAY - 2 * DAY, at_note=draft)
    return {"signed": signed, "draft": draft}


def charts_of(therapist, ep) -> dict:
    _episode, _all, charts = access.access_progress(therapist, ep.public_id)
    return {c.key: [p.value for p in c.points] for c in charts}


def test_the_pain_chart_plots_signed_notes_only(therapist, ep, record):
    # The defect: a draft note's "pain now" was plotted beside the signed one.
    assert charts_of(therapist, ep)["pain"] == [7.0]


def test_a_measure_taken_at_a_draft_note_is_not_plotted(therapist, ep, record):
    assert charts_of(therapist, ep)["odi"] == [40.0, 60.0]


def test_signing_the_note_brings_its_values_into_the_charts(therapist, ep, record):
    draft = access.access_note(therapist, record["draft"].public_id, audit_it=False)
    notes.do_sign_note(therapist, draft, notes.check_sign_note(therapist, draft))
    charts = charts_of(therapist, ep)
    assert charts["odi"] == [40.0, 60.0, 18.0]
    assert sorted(charts["pain"]) == [2.0, 6.0, 7.0]


def test_every_measurement_is_listed_and_a_draft_is_labelled(therapist, ep, record, client_for):
    _episode, found, _charts = access.access_progress(therapist, ep.public_id)
    assert [(m.score, m.draft) for m in found if m.measure == "odi"] == [(40.0, False), (60.0, False), (18.0, True)]
    page = client_for(therapist).get(reverse("clinical:measures", args=[ep.public_id])).content.decode()
    assert page.count(">draft</span>") == 2
    plotted = re.findall(r'<script id="progress-(\w+)" type="application/json">(.*?)</script>', page, re.S)
    values = {key: json.loads(data)["series"][0]["values"] for key, data in plotted}
    assert values == {"pain": [7.0], "odi": [40.0, 60.0]}


def test_the_measurement_page_says_it_is_a_draft(therapist, ep, record, client_for):
    _episode, found = access.access_measurements(therapist, ep.public_id)
    draft = next(m for m in found if m.draft)
    url = reverse("clinical:measurement", args=[ep.public_id, draft.public_id])
    page = client_for(therapist).get(url).content.decode()
    assert "not charted, reported or counted until the note is signed" in page


def test_the_api_marks_drafts_and_leaves_them_out_of_progress(therapist, ep, record, api_as):
    client = api_as(therapist)
    listed = client.send("GET", f"/episodes/{ep.public_id}/measures").json()
    assert [(m["measure"], m["draft"]) for m in listed] == [
        ("odi", False),
        ("odi", False),
        ("odi", True),
        ("nprs", True),
    ]
    progress = {c["key"]: [p["value"] for p in c["points"]] for c in client.send(
        "GET", f"/episodes/{ep.public_id}/progress"
    ).json()}  # fmt: skip
    assert progress == {"pain": [7.0], "odi": [40.0, 60.0]}


def test_a_progress_report_counts_signed_data_only(therapist, ep, record):
    content = reports.generate_content(ep, ep.opened_on, TODAY)
    (odi,) = [m for m in content["measures"] if m["measure"] == "odi"]
    assert (odi["first"], odi["last"], odi["count"]) == (40.0, 60.0, 2)
    assert all(m["measure"] != "nprs" for m in content["measures"])  # taken at the draft only
    assert content["visits"]["signed_notes"] == 1


def test_a_discharge_freezes_signed_data_only(therapist, ep, record):
    preview = discharge.outcomes(access.episode_measurements(ep))
    made = discharge.do_discharge(therapist, ep, discharge.check_discharge(therapist, ep, {"reason": "goals_met"}))
    for rows in (preview, made.outcomes):
        assert [(r["measure"], r["first"], r["last"], r["count"]) for r in rows] == [("odi", 40.0, 60.0, 2)]
    assert record["draft"].status == RecordStatus.DRAFT
