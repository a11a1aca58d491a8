"""Progress reports and discharge summaries say what matters (issue 14, item 8): pain
(NPRS, from signed notes and measures), range of motion against normal and the function
scores, each with its baseline, latest and change, in whole points where the measure is
whole points (clinical/progress.py, clinical/scoring.py format_value, referrals/reports.py)."""

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from effleura.clinical import assessments, discharge, progress, scoring
from effleura.clinical.choices import RecordStatus
from effleura.clinical.models import SessionNote
from effleura.referrals import report_pdf

from . import test_reports as base
from .test_reports import ago, flat, new_report, pdf_text, signed

r3_patient, r3_course, r3_provider, r3_referral = (base.r3_patient, base.r3_course, base.r3_provider, base.r3_referral)

NECK_LEFT = {"joint": "cervical spine", "movement": "rotation", "side": "left"}
LOW_BACK = {"joint": "lumbar spine", "movement": "flexion", "side": ""}


def assess(therapist, episode, days, kind, rom, *, sign=True):
    data = {"kind": kind, "assessed_on": ago(days), "rom": rom, "clinical_impression": "Synthetic impression."}
    assessment = assessments.do_create_assessment(
        therapist, episode, assessments.check_create_assessment(therapist, episode, data)
    )
    if sign:
        assessments.check_sign_assessment(therapist, assessment)
        assessments.do_sign_assessment(therapist, assessment)
    return assessment


def rate_pain(therapist, episode, days, value, status=RecordStatus.SIGNED):
    return SessionNote.objects.create(
        episode=episode,
        author=therapist,
        session_date=ago(days),
        status=status,
        signed_at=timezone.now() if status == RecordStatus.SIGNED else None,
        pain_now=value,
    )


@pytest.fixture
def r8_course(r3_course, therapist):
    """r3_course (NPRS measures 7 at 40 days, 5 at 20, 3 at 2 days ago) with neck rotation
    left 45° then 70° and low-back flexion 40° then 50° (normal 60–80°) in signed assessments, a draft
    re-assessment of 95° (never counted), and pain ratings in notes: 8 at 41 days, 4 at 10
    days ago (signed) and 1 yesterday (a draft: not counted)."""
    assess(
        therapist, r3_course, 39, "initial", [{**NECK_LEFT, "degrees": 45, "pain": True}, {**LOW_BACK, "degrees": 40}]
    )
    assess(therapist, r3_course, 3, "repeat", [{**NECK_LEFT, "degrees": 70}, {**LOW_BACK, "degrees": 50}])
    assess(therapist, r3_course, 1, "repeat", [{**NECK_LEFT, "degrees": 95}], sign=False)
    rate_pain(therapist, r3_course, 41, 8)
    rate_pain(therapist, r3_course, 10, 4)
    rate_pain(therapist, r3_course, 1, 1, status=RecordStatus.DRAFT)
    return r3_course


def test_a_progress_report_gives_pain_from_notes_and_measures_with_its_mcid(r8_course, therapist):
    pain = new_report(therapist, r8_course).content["pain"]
    # The first rating is the note of 41 days ago (8), the latest the measure of 2 days ago (3).
    assert (pain["baseline"], pain["baseline_on"], pain["latest"], pain["latest_on"]) == (
        8,
        ago(41).isoformat(),
        3,
        ago(2).isoformat(),
    )
    assert pain["count"] == 5  # notes at 41 and 10 days, measures at 40, 20 and 2 days; not the draft
    assert (pain["change"], pain["direction"], pain["mcid_reached"]) == (-5, "better", True)
    assert (pain["baseline_text"], pain["latest_text"], pain["change_text"]) == ("8", "3", "-5")


def test_a_period_ends_the_pain_and_motion_at_its_end_but_keeps_the_baseline(r8_course, therapist):
    c = new_report(therapist, r8_course, period_start=ago(21), period_end=ago(15)).content
    assert (c["pain"]["baseline"], c["pain"]["latest"], c["pain"]["change"]) == (8, 5, -3)
    neck = next(r for r in c["rom"] if r["label"] == "Neck rotation")
    assert (neck["baseline"], neck["latest"], neck["change"]) == (45, 45, None)  # one assessment by then


def test_a_measure_and_a_note_on_one_day_count_once_and_the_measure_wins(r3_course, therapist):
    rate_pain(therapist, r3_course, 2, 6)  # the NPRS measure of that day says 3
    pain = new_report(therapist, r3_course).content["pain"]
    assert (pain["latest"], pain["count"]) == (3, 3)


def test_range_of_motion_is_first_against_last_signed_assessment_beside_normal(r8_course, therapist):
    rom = {(r["label"], r["side"]): r for r in new_report(therapist, r8_course).content["rom"]}
    neck = rom[("Neck rotation", "Left")]
    assert (neck["baseline"], neck["latest"], neck["change"], neck["normal"]) == (45, 70, 25, "60–80°")
    assert neck["below_normal"] is False and neck["pain"] is False  # at the latest, not the first
    assert neck["measure"] == "rom:cervical_spine:rotation:left"
    back = rom[("Low-back flexion", "")]
    assert (back["latest"], back["change_text"], back["below_normal"]) == (50, "+10", True)
    assert all(r["latest"] != 95 for r in rom.values())  # the draft re-assessment is not counted


def test_function_scores_leave_pain_to_its_own_section(r8_course, therapist):
    c = new_report(therapist, r8_course).content
    assert [m["measure"] for m in c["function"]] == ["odi"]
    odi = c["function"][0]
    assert (odi["first_text"], odi["last_text"], odi["change_text"]) == ("80", "60", "-20")
    assert {m["measure"] for m in c["measures"]} == {"nprs", "odi"}  # the measures themselves stay


def test_goal_values_read_as_whole_points_where_the_measure_is(r3_course, therapist):
    goals = {g["measure"]: g for g in new_report(therapist, r3_course).content["goals"]}
    assert (goals["nprs"]["baseline_text"], goals["nprs"]["target_text"]) == ("7", "3")
    assert (goals["odi"]["baseline_text"], goals["odi"]["target_text"]) == ("40", "20")


def test_the_summary_and_the_pdf_say_pain_motion_and_function_with_baselines(r8_course, r3_referral, therapist):
    report = signed(therapist, new_report(therapist, r8_course))
    assert "Pain (NPRS): 8 to 3/10 (better; clinically important change)." in report.summary
    assert "Numeric Pain Rating Scale" not in report.summary  # said once
    assert "Range of motion below normal: Low-back flexion 50° (normal 60–80°)." in report.summary
    text = flat(pdf_text(report_pdf.render_report_pdf(report)))
    for expected in (
        "Pain",
        "Numeric Pain Rating Scale (5 ratings) 8/10",
        "Range of motion",
        "Neck rotation (left) 60–80° 45°",
        "70°",
        "+25°",
        "Function",
        "Oswestry Disability Index 80 %",
    ):
        assert expected in text, expected
    assert "7.0" not in text and "45.0" not in text and "80.0" not in text


def test_the_report_page_shows_the_new_sections(r8_course, therapist, client_for):
    report = new_report(therapist, r8_course)
    page = client_for(therapist).get(f"/referrals/reports/{report.public_id}/")
    html = flat(page.content.decode())
    assert page.status_code == 200
    for expected in ("<h3>Pain</h3>", "<h3>Range of motion</h3>", "<h3>Function</h3>", "below normal"):
        assert expected in html, expected


def test_a_report_frozen_before_pain_and_motion_still_shows_its_measures(r3_course, therapist, client_for):
    report = new_report(therapist, r3_course)
    old = {k: v for k, v in report.content.items() if k not in ("pain", "rom", "function")}
    old["measures"] = [{k: v for k, v in m.items() if not k.endswith("_text")} for m in old["measures"]]
    type(report).objects.filter(pk=report.pk).update(content=old)
    html = flat(client_for(therapist).get(f"/referrals/reports/{report.public_id}/").content.decode())
    assert "<h3>Outcome measures</h3>" in html and "<h3>Pain</h3>" not in html


def test_a_discharge_summary_reports_pain_and_motion_up_to_the_discharge(r8_course, r3_referral, therapist):
    clean = discharge.check_discharge(therapist, r8_course, {"reason": "goals_met", "summary": "Independent."})
    discharge.do_discharge(therapist, r8_course, clean)
    c = new_report(therapist, r8_course, kind="discharge").content
    assert (c["pain"]["baseline"], c["pain"]["latest"]) == (8, 3)
    assert {r["label"] for r in c["rom"]} == {"Neck rotation", "Low-back flexion"}


# format_value -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "value", "signed", "text"),
    [
        ("nprs", 7.0, False, "7"),
        ("nprs", -4.0, True, "-4"),
        ("nprs", 2.0, True, "+2"),
        ("nprs", 0.0, True, "0"),
        ("lefs", 54.0, False, "54"),
        ("rom:cervical_spine:rotation:right", 45.0, False, "45"),
        ("odi", 22.2222, False, "22.2"),
        ("odi", 40.0, False, "40"),
        ("psfs", 6.6667, True, "+6.7"),
        ("quickdash", -0.04, True, "0"),
        ("", 3.5, False, "3.5"),
        ("nprs", None, False, ""),
    ],
)
def test_values_print_in_the_measures_own_precision(measure, value, signed, text):
    assert scoring.format_value(measure, value, signed=signed) == text


@given(st.sampled_from(sorted(scoring.SPECS)), st.floats(min_value=-100, max_value=100, allow_nan=False))
def test_a_formatted_value_reads_back_within_its_precision(measure, value):
    text = scoring.format_value(measure, value, signed=True)
    whole = measure in scoring.WHOLE_POINTS
    assert abs(float(text) - value) <= (0.5 if whole else 0.05) + 1e-9
    assert ("." not in text) if whole else (not text.endswith(".0"))


def test_pain_course_of_no_readings_is_none():
    assert progress.pain_course([]) is None
