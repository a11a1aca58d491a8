"""The health history: versions that are never edited, what changed between them,
the conditions the details imply, validation, and who may see any of it."""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from effleura.core.choices import AuditAction, AuditOutcome
from effleura.patients import actions, history
from effleura.patients.models import HealthHistory

from .helpers import audit_events, page_text

TODAY = datetime.date(2026, 3, 15)


def days_ago(n: int) -> str:
    return (timezone.localdate() - datetime.timedelta(days=n)).isoformat()


def history_form_data(*, meds=(), surgeries=(), based_on="0", **fields) -> dict:
    """What the health-history form posts: the fields, two medication rows and one
    surgery row (more when given), with the formsets' management fields, and the version
    the page was filled from (``based_on``: "0" for a first history)."""
    data = {
        "based_on": based_on,
        "presenting_complaint": "",
        "goals": "",
        "condition_notes": "",
        "allergies": "",
        "pregnancy_weeks": "",
        "implanted_devices_notes": "",
        "recent_illness_notes": "",
        "pressure_preference": "",
        "areas_to_avoid_notes": "",
    }
    med_rows = [*meds, *[{}] * max(0, 2 - len(meds))]
    surgery_rows = [*surgeries, *[{}] * max(0, 1 - len(surgeries))]
    for prefix, rows in (("med", med_rows), ("surgery", surgery_rows)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(rows)),
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "30",
            }
        )
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    data.update(fields)
    return {k: v for k, v in data.items() if v is not False}


def clean(today=TODAY, **data) -> dict:
    return actions.clean_health_history(data, today)


def errors_of(**data) -> dict:
    with pytest.raises(ValidationError) as caught:
        clean(**data)
    return {field: " ".join(messages) for field, messages in caught.value.message_dict.items()}


def field_error(response, field: str) -> str:
    found = re.findall(rf'<p class="error" id="id_{field}_error">(.*?)</p>', page_text(response))
    return " ".join(found)


def changes_table(response) -> dict[str, tuple[str, str]]:
    """The "What changed" table as {label: (before, after)}."""
    rows = re.findall(
        r'<tr><th scope="row">(.*?)</th><td><del>(.*?)</del></td><td><ins>(.*?)</ins></td></tr>',
        page_text(response),
    )
    return {label: (before, after) for label, before, after in rows}


def facts(response) -> dict[str, str]:
    section = page_text(response).split('<dl class="facts">', 1)[1].split("</dl>", 1)[0]
    return dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", section))


@pytest.fixture
def patient(make_patient):
    return make_patient(legal_first_name="Ana", legal_last_name="Rivera")


def url(name, patient, *args):
    return reverse(f"patients:{name}", args=[patient.public_id, *args])


# Taking the history through the form ----------------------------------------------------------


def test_it_offers_an_empty_form_for_the_first_history(client_for, therapist, patient):
    text = page_text(client_for(therapist).get(url("history_new", patient)))
    assert "Take the health history" in text
    assert 'name="med-TOTAL_FORMS" value="2"' in text
    assert 'name="surgery-TOTAL_FORMS" value="1"' in text


def test_it_saves_the_form_with_medications_and_surgeries_as_version_one(client_for, therapist, patient):
    client = client_for(therapist)
    response = client.post(
        url("history_new", patient),
        history_form_data(
            presenting_complaint="Stiff neck after a long drive",
            goals="Turn my head while driving",
            pain_areas=["neck", "shoulder_l"],
            conditions=["varicose_veins"],
            allergies="Nuts",
            allergic_to_oils_or_lotions="on",
            pressure_preference="moderate",
            meds=[
                {"name": "Warfarin", "dose": "5 mg", "blood_thinner": "on"},
                {"name": "Vitamin D", "dose": ""},
            ],
            surgeries=[{"what": "Knee arthroscopy", "date": days_ago(10)}],
        ),
    )
    assert response.status_code == 302
    assert response.url == url("history", patient)
    saved = HealthHistory.objects.get(patient=patient)
    assert saved.version == 1
    assert saved.recorded_by == therapist
    assert saved.presenting_complaint == "Stiff neck after a long drive"
    assert saved.pain_areas == ["neck", "shoulder_l"]
    assert saved.allergic_to_oils_or_lotions is True
    assert saved.pressure_preference == "moderate"
    assert saved.medications == [
        {"name": "Warfarin", "dose": "5 mg", "blood_thinner": True},
        {"name": "Vitamin D", "dose": "", "blood_thinner": False},
    ]
    assert saved.surgeries == [{"what": "Knee arthroscopy", "date": days_ago(10)}]
    # The checklist keeps what was ticked; screening adds what the answers imply.
    assert saved.conditions == ["varicose_veins"]
    assert saved.screening_conditions == ["varicose_veins", "anticoagulant", "recent_surgery"]

    page = client.get(response.url)
    shown = facts(page)
    assert "Health history saved as version 1." in page_text(page)
    assert shown["Medications"] == "Warfarin 5 mg (blood thinner); Vitamin D"
    assert shown["Surgeries"] == f"Knee arthroscopy ({days_ago(10)})"
    assert shown["Pain areas"] == "Neck, Left shoulder"
    assert shown["Conditions"] == "Varicose veins"
    assert (
        "Also screened today, from the answers above:</strong> "
        "Taking blood thinners, or a bleeding disorder, Surgery in the last 6 weeks." in page_text(page)
    )


def test_it_skips_empty_medication_and_surgery_rows(client_for, therapist, patient):
    client_for(therapist).post(url("history_new", patient), history_form_data(presenting_complaint="Back"))
    saved = HealthHistory.objects.get(patient=patient)
    assert saved.medications == []
    assert saved.surgeries == []


def test_it_fills_the_update_form_with_the_current_version(client_for, therapist, patient, add_history):
    add_history(
        patient,
        presenting_complaint="Low back ache",
        conditions=["epilepsy"],
        medications=[{"name": "Ibuprofen", "dose": "200 mg"}],
        surgeries=[{"what": "Appendectomy", "date": "2001-05-06"}],
    )
    text = page_text(client_for(therapist).get(url("history_new", patient)))
    assert "Update the health history (becomes version 2)" in text
    assert "Low back ache</textarea>" in text
    assert 'name="med-0-name" value="Ibuprofen"' in text
    assert 'name="surgery-0-what" value="Appendectomy"' in text
    assert 'name="surgery-0-date" value="2001-05-06"' in text
    assert 'value="epilepsy" id="id_conditions_16" checked' in text
    # Empty rows after the ones on file: two for medications, one for surgeries.
    assert 'name="med-TOTAL_FORMS" value="3"' in text
    assert 'name="surgery-TOTAL_FORMS" value="2"' in text


def test_it_adds_a_version_on_every_save_and_never_edits_one(client_for, therapist, patient):
    client = client_for(therapist)
    client.post(url("history_new", patient), history_form_data(presenting_complaint="Neck", goals="Sleep"))
    first = HealthHistory.objects.get(patient=patient)
    first_values = {name: getattr(first, name) for name in actions.HISTORY_FIELDS}
    first_id, first_recorded = first.public_id, first.recorded_at

    client.post(
        url("history_new", patient), history_form_data(presenting_complaint="Shoulder", goals="Swim", based_on="1")
    )
    client.post(
        url("history_new", patient), history_form_data(presenting_complaint="Shoulder", goals="Swim", based_on="2")
    )

    versions = list(HealthHistory.objects.filter(patient=patient).order_by("version"))
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[0].public_id == first_id
    assert versions[0].recorded_at == first_recorded
    assert {name: getattr(versions[0], name) for name in actions.HISTORY_FIELDS} == first_values
    assert versions[2].presenting_complaint == "Shoulder"
    events = audit_events(action=AuditAction.CREATE, record_type="health_history")
    assert [e.detail for e in events] == ["version 1", "version 2", "version 3"]
    assert [e.record_id for e in events] == [str(v.public_id) for v in versions]
    assert {e.patient_id for e in events} == {patient.public_id}


def test_it_numbers_versions_per_patient(therapist, make_patient, add_history):
    one, two = make_patient(), make_patient()
    add_history(one)
    add_history(one)
    assert add_history(two).version == 1


# Validation through the form --------------------------------------------------------------------


def test_it_refuses_weeks_of_pregnancy_without_pregnant_beside_the_field(client_for, therapist, patient):
    response = client_for(therapist).post(
        url("history_new", patient), history_form_data(presenting_complaint="Neck", pregnancy_weeks="20")
    )
    assert response.status_code == 200
    assert field_error(response, "pregnancy_weeks") == ("Weeks of pregnancy only apply when pregnant is ticked.")
    assert not HealthHistory.objects.exists()
    assert "Neck</textarea>" in page_text(response)


@pytest.mark.parametrize(
    "weeks, message",
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("46", "Ensure this value is less than or equal to 45."),
        ("twenty", "Enter a whole number."),
    ],
)
def test_it_refuses_weeks_of_pregnancy_out_of_range_beside_the_field(client_for, therapist, patient, weeks, message):
    response = client_for(therapist).post(
        url("history_new", patient), history_form_data(pregnant="on", pregnancy_weeks=weeks)
    )
    assert field_error(response, "pregnancy_weeks") == message
    assert not HealthHistory.objects.exists()


def test_it_refuses_a_surgery_in_the_future_and_keeps_the_rows(client_for, therapist, patient):
    response = client_for(therapist).post(
        url("history_new", patient),
        history_form_data(
            meds=[{"name": "Warfarin", "blood_thinner": "on"}],
            surgeries=[{"what": "Hip replacement", "date": days_ago(-7)}],
        ),
    )
    text = page_text(response)
    assert "1 problem needs fixing before this can be saved" in text
    assert "<li>Surgery 1: the date can’t be in the future.</li>" in text
    assert 'name="surgery-0-what" value="Hip replacement"' in text
    assert 'name="med-0-name" value="Warfarin"' in text
    assert not HealthHistory.objects.exists()


def test_it_refuses_a_blood_thinner_row_without_a_name_rather_than_dropping_it(client_for, therapist, patient):
    # Dropping the row would also drop the anticoagulant flag that screening relies on.
    response = client_for(therapist).post(
        url("history_new", patient),
        history_form_data(meds=[{"name": "Vitamin D"}, {"name": "", "dose": "5 mg", "blood_thinner": "on"}]),
    )
    assert response.status_code == 200
    assert "Medication 2 needs a name." in page_text(response)
    assert not HealthHistory.objects.exists()


def test_it_refuses_a_dated_surgery_without_a_description_rather_than_dropping_it(client_for, therapist, patient):
    response = client_for(therapist).post(
        url("history_new", patient), history_form_data(surgeries=[{"what": "", "date": days_ago(5)}])
    )
    assert response.status_code == 200
    assert "Surgery 1 needs a description." in page_text(response)
    assert not HealthHistory.objects.exists()


def test_it_drops_a_row_on_file_once_all_of_it_is_cleared(client_for, therapist, patient, add_history):
    add_history(patient, medications=[{"name": "Ibuprofen", "dose": "200 mg"}])
    data = history_form_data(meds=[{"name": "", "dose": ""}, {}, {}], based_on="1")
    data["med-INITIAL_FORMS"] = "1"
    response = client_for(therapist).post(url("history_new", patient), data)
    assert response.status_code == 302
    assert HealthHistory.objects.get(version=2).medications == []


def test_it_refuses_a_surgery_date_the_form_cannot_read(client_for, therapist, patient):
    response = client_for(therapist).post(
        url("history_new", patient), history_form_data(surgeries=[{"what": "Hip", "date": "last spring"}])
    )
    assert field_error(response, "surgery-0-date") == "Enter a valid date."
    assert not HealthHistory.objects.exists()


def test_it_refuses_an_unknown_condition_ticked_in_a_forged_form(client_for, therapist, patient):
    response = client_for(therapist).post(url("history_new", patient), history_form_data(conditions=["gout"]))
    assert "Select a valid choice. gout is not one of the available choices." in field_error(response, "conditions")
    assert not HealthHistory.objects.exists()


# Validation of the rule (actions.clean_health_history) ------------------------------------------


def test_it_refuses_an_unknown_condition_key():
    assert errors_of(conditions=["dvt", "gout"]) == {"conditions": "Unknown condition: gout."}


def test_it_refuses_unknown_body_regions_and_devices():
    errors = errors_of(pain_areas=["tail"], areas_to_avoid=["wing"], implanted_devices=["jetpack"])
    assert errors == {
        "pain_areas": "Unknown body region: tail.",
        "areas_to_avoid": "Unknown body region: wing.",
        "implanted_devices": "Unknown device: jetpack.",
    }


def test_it_refuses_keys_that_are_not_a_list():
    assert errors_of(conditions="dvt") == {"conditions": "Give condition as a list."}


def test_it_refuses_weeks_of_pregnancy_without_pregnant():
    assert errors_of(pregnancy_weeks=12) == {
        "pregnancy_weeks": "Weeks of pregnancy only apply when pregnant is ticked."
    }


@pytest.mark.parametrize("weeks", [0, 46, -3])
def test_it_refuses_weeks_of_pregnancy_out_of_range(weeks):
    assert errors_of(pregnant=True, pregnancy_weeks=weeks) == {
        "pregnancy_weeks": "Weeks of pregnancy must be between 1 and 45."
    }


def test_it_refuses_weeks_of_pregnancy_that_are_not_a_number():
    assert errors_of(pregnant=True, pregnancy_weeks="many") == {
        "pregnancy_weeks": "Give the weeks of pregnancy as a whole number."
    }


@pytest.mark.parametrize("weeks", [1, 45, "30"])
def test_it_accepts_weeks_of_pregnancy_from_one_to_forty_five(weeks):
    assert clean(pregnant=True, pregnancy_weeks=weeks)["pregnancy_weeks"] == int(weeks)


def test_it_refuses_a_surgery_date_in_the_future():
    tomorrow = (TODAY + datetime.timedelta(days=1)).isoformat()
    assert errors_of(surgeries=[{"what": "Hip", "date": tomorrow}]) == {
        "surgeries": "Surgery 1: the date can’t be in the future."
    }


@pytest.mark.parametrize("bad", ["2024-02-30", "15/03/2024", "soon"])
def test_it_refuses_a_surgery_date_that_is_not_a_date(bad):
    assert errors_of(surgeries=[{"what": "Hip", "date": "2020-01-01"}, {"what": "Knee", "date": bad}]) == {
        "surgeries": "Surgery 2: give the date as YYYY-MM-DD."
    }


def test_it_refuses_a_surgery_or_medication_without_a_description():
    assert errors_of(surgeries=[{"what": " ", "date": "2020-01-01"}]) == {"surgeries": "Surgery 1 needs a description."}
    assert errors_of(medications=[{"name": "", "dose": "5 mg"}]) == {"medications": "Medication 1 needs a name."}


def test_it_refuses_unknown_fields_in_a_medication_or_the_history():
    assert errors_of(medications=[{"name": "Warfarin", "colour": "pink"}]) == {
        "medications": "Medication 1 has unknown field(s): colour."
    }
    with pytest.raises(ValidationError, match="Unknown field"):
        clean(shoe_size=42)


def test_it_refuses_an_unknown_pressure_preference():
    assert errors_of(pressure_preference="crushing") == {
        "pressure_preference": "Choose one of: Light, Moderate, Firm, Deep."
    }


def test_it_reports_every_problem_at_once():
    errors = errors_of(conditions=["gout"], pregnancy_weeks=3, surgeries=[{"what": "Hip", "date": "x"}])
    assert set(errors) == {"conditions", "pregnancy_weeks", "surgeries"}


def test_it_saves_nothing_when_the_action_refuses(therapist, patient):
    with pytest.raises(ValidationError):
        actions.check_add_health_history(therapist, patient, {"conditions": ["gout"]})
    assert not HealthHistory.objects.exists()
    assert audit_events(record_type="health_history") == []


def test_it_normalises_dates_repeats_and_whitespace():
    result = clean(
        presenting_complaint="  neck  ",
        conditions=["dvt", "dvt"],
        surgeries=[{"what": " Knee ", "date": datetime.date(2020, 1, 2)}],
        medications=[{"name": " Ibuprofen ", "dose": None}],
    )
    assert result["presenting_complaint"] == "neck"
    assert result["conditions"] == ["dvt"]
    assert result["surgeries"] == [{"what": "Knee", "date": "2020-01-02"}]
    assert result["medications"] == [{"name": "Ibuprofen", "dose": "", "blood_thinner": False}]


# Conditions the details imply ----------------------------------------------------------------


def screening(today=TODAY, **data) -> list[str]:
    """The conditions screening considers for these answers, read on ``today``."""
    return history.screening_conditions(SimpleNamespace(**clean(today=today, **data)), today)


def test_it_adds_anticoagulant_for_a_blood_thinner_medication():
    assert screening(medications=[{"name": "Apixaban", "dose": "5 mg", "blood_thinner": True}]) == ["anticoagulant"]


def test_it_adds_nothing_for_a_medication_that_is_not_a_blood_thinner():
    assert screening(medications=[{"name": "Ibuprofen", "blood_thinner": False}]) == []


def test_it_adds_pregnancy_when_pregnant():
    assert screening(pregnant=True, pregnancy_weeks=20) == ["pregnancy"]


@pytest.mark.parametrize("device", ["pacemaker", "defibrillator", "nerve_stimulator"])
def test_it_adds_pacemaker_for_a_pacemaker_defibrillator_or_stimulator(device):
    assert screening(implanted_devices=[device]) == ["pacemaker"]


@pytest.mark.parametrize("device", ["insulin_pump", "joint_replacement", "other"])
def test_it_adds_nothing_for_other_devices(device):
    assert screening(implanted_devices=[device]) == []


@pytest.mark.parametrize("days", [0, 1, 41, 42])
def test_it_adds_recent_surgery_within_six_weeks(days):
    when = (TODAY - datetime.timedelta(days=days)).isoformat()
    assert screening(surgeries=[{"what": "Knee", "date": when}]) == ["recent_surgery"]


@pytest.mark.parametrize("days", [43, 400])
def test_it_adds_nothing_for_an_older_surgery(days):
    when = (TODAY - datetime.timedelta(days=days)).isoformat()
    assert screening(surgeries=[{"what": "Knee", "date": when}]) == []


def test_it_adds_nothing_for_a_surgery_without_a_date():
    assert screening(surgeries=[{"what": "Tonsils as a child", "date": ""}]) == []


def test_it_keeps_ticked_conditions_first_and_never_repeats_one():
    result = screening(
        conditions=["dvt", "anticoagulant"],
        medications=[{"name": "Warfarin", "blood_thinner": True}, {"name": "Heparin", "blood_thinner": True}],
        pregnant=True,
        implanted_devices=["pacemaker", "defibrillator"],
        surgeries=[{"what": "A", "date": "2026-03-01"}, {"what": "B", "date": "2026-03-02"}],
    )
    assert result == ["dvt", "anticoagulant", "pregnancy", "pacemaker", "recent_surgery"]


def test_it_keeps_implied_conditions_out_of_the_ticked_checklist(therapist, patient, add_history):
    saved = add_history(patient, implanted_devices=["nerve_stimulator"], pregnant=True)
    saved.refresh_from_db()
    assert saved.conditions == []
    assert saved.screening_conditions == ["pregnancy", "pacemaker"]


def test_a_surgery_stops_counting_as_recent_after_six_weeks():
    answers = {"surgeries": [{"what": "Hip replacement", "date": "2026-03-01"}]}
    assert screening(today=datetime.date(2026, 3, 20), **answers) == ["recent_surgery"]
    assert screening(today=datetime.date(2026, 4, 20), **answers) == []


def test_a_stopped_blood_thinner_stops_flagging_in_the_next_version():
    assert screening(medications=[{"name": "Warfarin", "blood_thinner": True}]) == ["anticoagulant"]
    assert screening(medications=[{"name": "Warfarin", "blood_thinner": False}]) == []


# Reading the history -----------------------------------------------------------------------------


def test_it_shows_the_first_version_without_a_comparison(client_for, therapist, patient, add_history):
    add_history(patient, presenting_complaint="Tension headaches", pressure_preference="light")
    response = client_for(therapist).get(url("history", patient))
    text = page_text(response)
    assert '<h2 class="flush-top">Version 1</h2>' in text
    assert "by Therapist Tester, LMT" in text
    assert facts(response)["Presenting complaint"] == "Tension headaches"
    assert facts(response)["Pressure preference"] == "Light"
    assert "What changed" not in text
    assert "You are looking at version" not in text


def test_it_shows_what_changed_since_the_previous_version(client_for, therapist, patient, add_history):
    add_history(patient, presenting_complaint="Neck", pressure_preference="light", allergies="")
    add_history(
        patient,
        presenting_complaint="Neck",
        pressure_preference="firm",
        allergies="Lavender",
        pregnant=True,
        pregnancy_weeks=12,
    )
    response = client_for(therapist).get(url("history", patient))
    assert "What changed since version 1" in page_text(response)
    assert changes_table(response) == {
        "Allergies": ("none", "Lavender"),
        "Pregnant": ("no", "yes, 12 weeks"),
        "Pressure preference": ("Light", "Firm"),
    }
    assert facts(response)["Pressure preference"] == "Firm"


def test_it_says_nothing_changed_when_a_version_repeats_the_last(client_for, therapist, patient, add_history):
    add_history(patient, presenting_complaint="Neck")
    add_history(patient, presenting_complaint="Neck")
    response = client_for(therapist).get(url("history", patient))
    assert "Nothing changed: this version confirms the previous answers." in page_text(response)
    assert changes_table(response) == {}


def test_it_lists_every_version_newest_first(client_for, therapist, patient, add_history):
    for complaint in ("one", "two", "three"):
        add_history(patient, presenting_complaint=complaint)
    text = page_text(client_for(therapist).get(url("history", patient)))
    links = re.findall(r'href="/patients/[0-9a-f-]+/health-history/v(\d+)/"', text)
    assert links == ["3", "2", "1"]
    assert f'href="{url("history_version", patient, 3)}" aria-current="page"' in text


def test_it_shows_an_earlier_version_with_its_own_changes(client_for, therapist, patient, add_history):
    add_history(patient, presenting_complaint="one")
    add_history(patient, presenting_complaint="two")
    add_history(patient, presenting_complaint="three")
    response = client_for(therapist).get(url("history_version", patient, 2))
    text = page_text(response)
    assert "You are looking at version 2." in text
    assert "See the current version (3)" in text
    assert facts(response)["Presenting complaint"] == "two"
    assert changes_table(response) == {"Presenting complaint": ("one", "two")}
    assert f'href="{url("history_version", patient, 2)}" aria-current="page"' in text


def test_it_shows_the_first_version_page_without_changes(client_for, therapist, patient, add_history):
    add_history(patient, presenting_complaint="one")
    add_history(patient, presenting_complaint="two")
    response = client_for(therapist).get(url("history_version", patient, 1))
    assert facts(response)["Presenting complaint"] == "one"
    assert "What changed" not in page_text(response)


@pytest.mark.parametrize("version", [0, 3, 99])
def test_it_answers_404_for_a_version_that_does_not_exist(client_for, therapist, patient, add_history, version):
    add_history(patient)
    add_history(patient)
    assert client_for(therapist).get(url("history_version", patient, version)).status_code == 404


def test_it_says_there_is_no_history_yet(client_for, therapist, patient):
    text = page_text(client_for(therapist).get(url("history", patient)))
    assert "No health history yet." in text
    assert url("history_new", patient) in text


def test_it_audits_reading_the_history(client_for, therapist, patient, add_history):
    current = add_history(patient)
    client_for(therapist).get(url("history_version", patient, 1))
    reads = audit_events(action=AuditAction.READ, record_type="health_history")
    assert reads
    assert {(e.patient_id, e.actor_id, e.outcome) for e in reads} == {
        (patient.public_id, therapist.pk, AuditOutcome.ALLOWED)
    }
    assert str(current.public_id) in {e.record_id for e in reads}


@pytest.mark.parametrize("role", ["owner", "therapist"])
def test_it_lets_clinical_staff_read_and_take_the_history(client_for, personas, patient, add_history, role):
    add_history(patient, presenting_complaint="Neck")
    client = client_for(personas[role])
    assert facts(client.get(url("history", patient)))["Presenting complaint"] == "Neck"
    response = client.post(url("history_new", patient), history_form_data(presenting_complaint="Back", based_on="1"))
    assert response.status_code == 302
    assert HealthHistory.objects.get(version=2).recorded_by == personas[role]


# Who may see it -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
@pytest.mark.parametrize(
    "method, name, args",
    [
        ("get", "history", ()),
        ("get", "history_version", (1,)),
        ("get", "history_new", ()),
        ("post", "history_new", ()),
    ],
)
def test_it_refuses_every_health_history_page_to_non_clinical_staff(
    client_for, personas, patient, add_history, role, method, name, args
):
    add_history(patient, presenting_complaint="Tension headaches")
    client = client_for(personas[role])
    response = getattr(client, method)(url(name, patient, *args), history_form_data(presenting_complaint="x"))
    assert response.status_code == 403
    assert "Tension headaches" not in page_text(response)
    assert HealthHistory.objects.count() == 1
    [denied] = audit_events(outcome=AuditOutcome.DENIED)
    assert denied.actor_id == personas[role].pk
    assert denied.patient_id == patient.public_id
    assert denied.record_type == "health_history"


def test_it_refuses_the_history_to_front_desk_in_the_action_too(front_desk, patient):
    from effleura.patients.access import access_health_history

    with pytest.raises(PermissionDenied):
        access_health_history(front_desk, patient.public_id)
    with pytest.raises(PermissionDenied):
        actions.check_add_health_history(front_desk, patient, {"presenting_complaint": "x"})
    assert [e.detail for e in audit_events(outcome=AuditOutcome.DENIED)] == [
        "health_history.view",
        "health_history.create",
    ]


def test_it_shows_the_history_summary_on_the_chart_to_a_therapist_only(
    client_for, therapist, front_desk, billing, patient, add_history
):
    add_history(patient, presenting_complaint="Tension headaches since March", conditions=["dvt"])
    chart = url("chart", patient)
    for_therapist = page_text(client_for(therapist).get(chart))
    assert "Tension headaches since March" in for_therapist
    assert "Conditions to screen:</strong> Deep vein thrombosis or thrombophlebitis (blood clot)" in for_therapist
    assert url("history", patient) in for_therapist
    for user in (front_desk, billing):
        text = page_text(client_for(user).get(chart))
        assert "Ana Rivera" in text
        assert "Tension headaches since March" not in text
        assert "Conditions to screen" not in text
        assert "Health history" not in text
        assert url("history", patient) not in text


def test_it_asks_a_therapist_but_not_front_desk_to_take_a_missing_history(client_for, therapist, front_desk, patient):
    chart = url("chart", patient)
    assert "No health history yet. Take it before the first treatment." in page_text(client_for(therapist).get(chart))
    text = page_text(client_for(front_desk).get(chart))
    assert "No health history yet" not in text
    assert url("history_new", patient) not in text


def test_it_does_not_audit_a_health_history_read_for_front_desk_on_the_chart(
    client_for, front_desk, patient, add_history
):
    add_history(patient)
    client_for(front_desk).get(url("chart", patient))
    assert audit_events(record_type="health_history", actor_id=front_desk.pk) == []


def test_it_refuses_a_page_that_names_no_version_it_was_based_on(client_for, therapist, patient, add_history):
    add_history(patient, conditions=["varicose_veins"])
    data = history_form_data(presenting_complaint="Back")
    del data["based_on"]
    response = client_for(therapist).post(url("history_new", patient), data)
    assert response.status_code == 200
    assert "This page is out of date: reload it" in page_text(response)
    assert HealthHistory.objects.filter(patient=patient).count() == 1
