"""Home care: a plan assembled from the self-care library (add, remove, reorder, dosage
and notes), shown on the episode and printed as a plain-language PDF handout on the
practice's letterhead; printing is audited; roles without clinical access see none of it."""

import io

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from effleura.clinical import access, client_screening, homecare, knowledge
from effleura.clinical.models import HomeCareItem, HomeCarePlan
from effleura.core.models import AuditEvent, Practice


def form_data(plan: dict, op: str, **extra) -> dict:
    """What the edit form sends back: the plan as it stands, and the button pressed."""
    data = {"introduction": plan.get("introduction", ""), "op": op, **extra}
    for n, item in enumerate(plan.get("items", [])):
        data[f"item_{n}"] = item["item"]
        data[f"dosage_{n}"] = item.get("dosage", "")
        data[f"notes_{n}"] = item.get("notes", "")
    return data


def items_of(episode) -> list[tuple[str, str, str]]:
    return [
        (i.item, i.dosage, i.notes) for i in HomeCareItem.objects.filter(plan__episode=episode).order_by("position")
    ]


def save(actor, episode, **data):
    return homecare.do_save_homecare(actor, episode, homecare.check_save_homecare(actor, episode, data))


# The actions --------------------------------------------------------------------------


def test_a_plan_is_assembled_from_the_library_in_order_with_this_clients_dosage(episode, therapist):
    save(
        therapist,
        episode,
        introduction="Little and often.",
        items=[
            {"item": "chin_tuck", "dosage": "5 repetitions, twice a day.", "notes": "At your desk."},
            {"item": "heat_at_home"},
        ],
    )
    assert items_of(episode) == [
        ("chin_tuck", "5 repetitions, twice a day.", "At your desk."),
        ("heat_at_home", "", ""),
    ]
    shown = access.access_homecare(therapist, episode.public_id)
    assert shown.introduction == "Little and often."
    assert [i.dosage for i in shown.items] == [
        "5 repetitions, twice a day.",
        knowledge.selfcare_item("heat_at_home").dosage,  # blank = the library's
    ]
    assert shown.items[0].steps == knowledge.selfcare_item("chin_tuck").steps


def test_saving_again_replaces_the_plan_and_is_audited(episode, therapist):
    save(therapist, episode, items=[{"item": "chin_tuck"}, {"item": "cat_camel"}])
    save(therapist, episode, items=[{"item": "cat_camel"}])
    assert items_of(episode) == [("cat_camel", "", "")]
    assert HomeCarePlan.objects.count() == 1
    events = list(AuditEvent.objects.filter(record_type="home_care_plan").order_by("id"))
    assert [e.action for e in events] == ["create", "update"]
    assert all(e.patient_id == episode.patient.public_id for e in events)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"items": [{"item": "no_such_exercise"}]}, "items.0.item", "self-care library"),
        ({"items": [{"item": "chin_tuck"}, {"item": "chin_tuck"}]}, "items.1.item", "already in the plan"),
        ({"items": [{"item": "chin_tuck", "dosage": "x" * 201}]}, "items.0.dosage", "under 200"),
        ({"items": [{"item": "chin_tuck", "notes": "x" * 301}]}, "items.0.notes", "under 300"),
        ({"introduction": "x" * 2001}, "introduction", "under 2000"),
        ({"items": [{"item": e.key} for e in knowledge.selfcare()][:21]}, "items", "20 items or fewer"),
    ],
)
def test_an_unsound_plan_is_refused_naming_the_field(episode, therapist, data, field, message):
    if field == "items" and len(data["items"]) <= homecare.MAX_ITEMS:
        pytest.skip("the library has too few items to overfill a plan")
    with pytest.raises(ValidationError) as refused:
        homecare.check_save_homecare(therapist, episode, data)
    assert message in refused.value.message_dict[field][0]


def test_a_discharged_episode_keeps_its_plan_as_it_was(episode, therapist):
    episode.status = "discharged"
    episode.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="discharged"):
        homecare.check_save_homecare(therapist, episode, {"items": [{"item": "chin_tuck"}]})


# The pages ----------------------------------------------------------------------------


def test_the_therapist_adds_moves_and_removes_items_on_the_page(episode, therapist, client_for):
    client = client_for(therapist)
    url = reverse("clinical:homecare_edit", args=[episode.public_id])
    assert client.get(url).status_code == 200
    r = client.post(url, form_data({"introduction": "Hello."}, "add", add="chin_tuck"))
    assert r.status_code == 302 and r["Location"] == url
    plan = {"introduction": "Hello.", "items": [{"item": "chin_tuck"}]}
    client.post(url, form_data(plan, "add", add="cat_camel"))
    assert items_of(episode) == [("chin_tuck", "", ""), ("cat_camel", "", "")]
    plan["items"].append({"item": "cat_camel"})
    client.post(url, form_data(plan, "up:1"))
    assert [i[0] for i in items_of(episode)] == ["cat_camel", "chin_tuck"]
    plan["items"].reverse()
    plan["items"][1]["dosage"] = "3 times a day."
    r = client.post(url, form_data(plan, "save"))
    assert r.status_code == 302 and r["Location"] == reverse("clinical:homecare", args=[episode.public_id])
    assert items_of(episode) == [("cat_camel", "", ""), ("chin_tuck", "3 times a day.", "")]
    client.post(url, form_data(plan, "remove:0"))
    assert items_of(episode) == [("chin_tuck", "3 times a day.", "")]
    page = client.get(reverse("clinical:homecare", args=[episode.public_id])).content.decode()
    assert "Hello." in page
    assert knowledge.selfcare_item("chin_tuck").title in page
    assert "3 times a day." in page
    assert knowledge.selfcare_item("chin_tuck").steps[0] in page


def test_a_refused_edit_shows_why_and_keeps_what_was_typed(episode, therapist, client_for):
    client = client_for(therapist)
    url = reverse("clinical:homecare_edit", args=[episode.public_id])
    plan = {"introduction": "Kept.", "items": [{"item": "chin_tuck", "dosage": "y" * 201}]}
    r = client.post(url, form_data(plan, "save"))
    assert r.status_code == 422
    page = r.content.decode()
    assert "Keep the dosage under 200 characters." in page
    assert "Kept." in page
    assert not HomeCarePlan.objects.exists()


def test_a_form_without_a_button_changes_nothing(episode, therapist, client_for):
    save(therapist, episode, items=[{"item": "chin_tuck"}])
    r = client_for(therapist).post(reverse("clinical:homecare_edit", args=[episode.public_id]), {})
    assert r.status_code == 422
    assert items_of(episode) == [("chin_tuck", "", "")]


def test_the_add_list_offers_only_items_not_yet_in_the_plan(episode, therapist, client_for):
    save(therapist, episode, items=[{"item": "chin_tuck"}])
    page = client_for(therapist).get(reverse("clinical:homecare_edit", args=[episode.public_id])).content.decode()
    assert '<option value="chin_tuck">' not in page
    assert '<option value="cat_camel">' in page


@pytest.mark.parametrize("role", ["front_desk", "billing", "outsider"])
def test_roles_without_clinical_access_see_no_home_care(episode, therapist, personas, client_for, role):
    save(therapist, episode, introduction="Secret-ish words.", items=[{"item": "chin_tuck"}])
    client = client_for(personas[role])
    for name in ("clinical:homecare", "clinical:homecare_edit", "clinical:homecare_pdf"):
        response = client.get(reverse(name, args=[episode.public_id]))
        assert response.status_code == 403, name
        assert b"Secret-ish words." not in response.content
    r = client.post(reverse("clinical:homecare_edit", args=[episode.public_id]), form_data({}, "save"))
    assert r.status_code == 403
    assert items_of(episode) == [("chin_tuck", "", "")]
    assert not AuditEvent.objects.filter(action="print", outcome="allowed").exists()


def test_the_home_care_page_does_a_bounded_number_of_queries(
    episode, therapist, client_for, django_assert_max_num_queries
):
    client = client_for(therapist)
    url = reverse("clinical:homecare", args=[episode.public_id])
    save(therapist, episode, items=[{"item": "chin_tuck"}])
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    count = len(few)
    save(therapist, episode, items=[{"item": e.key} for e in knowledge.selfcare()[:10]])
    with django_assert_max_num_queries(count):
        client.get(url)


# The PDF handout ----------------------------------------------------------------------


@pytest.fixture
def practice(db):
    return Practice.objects.create(name="Synthetic Massage Practice", address_line1="1 Test Road", phone="555-0142")


@pytest.fixture
def sensitive_patient(make_patient, add_history):
    """A patient with a health history full of things the handout must never show."""
    patient = make_patient(preferred_name="Robin", legal_first_name="Roberta")
    add_history(
        patient,
        presenting_complaint="Zebracomplaint after a fall",
        conditions=["anticoagulant", "lymphedema"],
        allergies="Quokkanut oil",
    )
    return patient


@pytest.fixture
def printed(sensitive_patient, therapist, client_for, practice):
    from effleura.clinical.models import Episode

    episode = Episode.objects.create(
        patient=sensitive_patient, title="Zebratitle neck pain", therapist=therapist, created_by=therapist
    )
    save(
        therapist,
        episode,
        introduction="Do these gently every day.",
        items=[
            {"item": "chin_tuck", "dosage": "8 repetitions, morning and evening.", "notes": "Use the mirror."},
            {"item": "heat_at_home"},
        ],
    )
    response = client_for(therapist).get(reverse("clinical:homecare_pdf", args=[episode.public_id]))
    return episode, response


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def test_the_handout_is_a_pdf_with_name_items_dosage_and_letterhead(printed):
    _episode, response = printed
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "no-store"
    assert "Robin" not in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert "Your home-care plan" in text
    assert "For Robin" in text  # the preferred name
    assert "Synthetic Massage Practice" in text and "555-0142" in text
    assert "Do these gently every day." in text
    chin, heat = knowledge.selfcare_item("chin_tuck"), knowledge.selfcare_item("heat_at_home")
    assert chin.title in text and heat.title in text
    assert "8 repetitions, morning and evening." in text
    assert " ".join(heat.dosage.split()[:4]) in " ".join(text.split())  # the library's dosage
    assert "Use the mirror." in text
    assert "Page 1 of" in text


def test_the_handout_shows_nothing_of_the_clinical_record(printed):
    _episode, response = printed
    text = pdf_text(response.content)
    for secret in ("Zebracomplaint", "Quokkanut", "Zebratitle", "nticoagulant", "ymphedema", "Roberta", "Synthetic"):
        if secret == "Synthetic":
            # The practice's name contains the word; the legal surname must not appear on its own.
            assert text.count("Synthetic") == text.count("Synthetic Massage Practice")
            continue
        assert secret not in text


def test_printing_is_audited_as_a_print(printed, therapist):
    episode, _response = printed
    event = AuditEvent.objects.get(action="print")
    assert event.outcome == "allowed"
    assert event.patient_id == episode.patient.public_id
    assert event.record_id == str(episode.public_id)
    assert event.actor_username == "therapist"
    assert event.detail == "home-care handout"


def test_a_refused_print_is_audited_as_denied(episode, front_desk, client_for):
    response = client_for(front_desk).get(reverse("clinical:homecare_pdf", args=[episode.public_id]))
    assert response.status_code == 403
    event = AuditEvent.objects.get(action="print")
    assert event.outcome == "denied"
    assert event.actor_username == "front_desk"


# Items that check themselves against the client ----------------------------------------


@pytest.fixture
def post_op_shoulder(episode, add_history):
    """The episode's client, six weeks from a right shoulder operation: the right shoulder
    is an area to avoid."""
    add_history(episode.patient, conditions=["recent_surgery"], areas_to_avoid=["shoulder_r"])
    return episode


def test_it_asks_for_a_reason_before_giving_an_item_for_an_area_to_avoid(post_op_shoulder, therapist):
    with pytest.raises(ValidationError) as caught:
        save(therapist, post_op_shoulder, items=[{"item": "chin_tuck"}, {"item": "shoulder_pendulum"}])
    message = " ".join(caught.value.message_dict["items.1.override_reason"])
    assert "Shoulder pendulum works the right shoulder, an area this client must avoid" in message
    assert "say why" in message and "items.0.override_reason" not in caught.value.message_dict
    assert not HomeCarePlan.objects.exists()

    reason = "Surgeon's protocol: pendulums from week 2."
    save(therapist, post_op_shoulder, items=[{"item": "shoulder_pendulum", "override_reason": reason}])
    assert HomeCareItem.objects.get().override_reason == reason
    overrides = AuditEvent.objects.filter(record_type="home_care_plan", detail="override")
    assert overrides.count() == 1 and reason not in str(list(AuditEvent.objects.values_list("detail", flat=True)))
    # Saving again with the same reason is not a new override.
    save(therapist, post_op_shoulder, items=[{"item": "shoulder_pendulum", "override_reason": reason}])
    assert overrides.count() == 1


def test_it_refuses_an_item_a_condition_rules_out_without_a_reason(episode, therapist, add_history):
    add_history(episode.patient, conditions=["raynauds"])
    with pytest.raises(ValidationError) as caught:
        save(therapist, episode, items=[{"item": "cold_at_home"}])
    message = " ".join(caught.value.message_dict["items.0.override_reason"])
    assert "Not for Raynaud" in message and "Do not use cold applications." in message
    save(therapist, episode, items=[{"item": "heat_at_home"}])  # heat is not what Raynaud's rules out
    assert items_of(episode) == [("heat_at_home", "", "")]


def test_a_precaution_is_a_warning_beside_the_item_not_a_refusal(episode, therapist, add_history):
    add_history(episode.patient, conditions=["osteoporosis_severe"])
    save(therapist, episode, items=[{"item": "hamstring_stretch"}])
    check = homecare.check_item(
        knowledge.selfcare_item("hamstring_stretch"), client_screening.screening_for(episode.patient)
    )
    assert not check.needs_reason
    assert any("(precaution)" in w and "forceful stretching" in w for w in check.warnings)


def test_breathing_posture_and_ergonomics_advice_is_not_questioned_for_an_area_to_avoid(
    episode, therapist, add_history
):
    add_history(episode.patient, areas_to_avoid=["chest", "abdomen", "neck", "low_back"])
    save(therapist, episode, items=[{"item": "diaphragmatic_breathing"}, {"item": "desk_setup"}])
    assert len(items_of(episode)) == 2
    with pytest.raises(ValidationError):
        save(therapist, episode, items=[{"item": "knee_to_chest"}])  # a stretch of the low back is


def test_a_reason_no_check_asks_for_is_not_kept(episode, therapist):
    save(therapist, episode, items=[{"item": "chin_tuck", "override_reason": "Just because."}])
    assert HomeCareItem.objects.get().override_reason == ""
    assert not AuditEvent.objects.filter(record_type="home_care_plan", detail="override").exists()


def test_general_rules_about_a_massage_session_do_not_stop_advice_at_home(episode, therapist, add_history):
    # DVT defers the massage ("all massage"); it says nothing about breathing at home.
    add_history(episode.patient, conditions=["dvt"])
    save(therapist, episode, items=[{"item": "diaphragmatic_breathing"}, {"item": "desk_setup"}])
    assert len(items_of(episode)) == 2


def test_each_item_names_the_conditions_it_is_not_for():
    assert homecare.not_for(knowledge.selfcare_item("cold_at_home")) == [
        "Diabetes with loss of sensation",
        "Raynaud's or cold urticaria",
    ]
    assert any("Varicose" in c for c in homecare.not_for(knowledge.selfcare_item("ball_self_massage")))
    assert homecare.not_for(knowledge.selfcare_item("chin_tuck")) == []


def test_the_page_asks_for_the_reason_and_keeps_it(post_op_shoulder, therapist, client_for):
    client = client_for(therapist)
    url = reverse("clinical:homecare_edit", args=[post_op_shoulder.public_id])
    page = client.post(url, form_data({}, "add", add="shoulder_pendulum", version="0"))
    html = page.content.decode()
    assert page.status_code == 422 and not HomeCarePlan.objects.exists()
    assert "works the right shoulder, an area this client must avoid" in html
    assert 'name="override_reason_0"' in html and "Reason to give it anyway" in html
    plan = {"items": [{"item": "shoulder_pendulum"}]}
    saved = client.post(url, form_data(plan, "save", version="0", override_reason_0="Surgeon's protocol."))
    assert saved.status_code == 302
    assert HomeCareItem.objects.get().override_reason == "Surgeon's protocol."
    shown = client.get(reverse("clinical:homecare", args=[post_op_shoulder.public_id])).content.decode()
    assert "Given despite a check" in shown and "Surgeon&#x27;s protocol." in shown


def test_the_api_needs_the_reason_too(post_op_shoulder, therapist, client_for):
    client = client_for(therapist)
    url = reverse("api:episode_home_care", args=[post_op_shoulder.public_id])
    refused = client.put(url, {"items": [{"item": "shoulder_pendulum"}]}, content_type="application/json")
    assert refused.status_code == 422
    assert "an area this client must avoid" in refused.json()["errors"]["items.0.override_reason"]
    body = {"items": [{"item": "shoulder_pendulum", "override_reason": "Surgeon's protocol."}]}
    saved = client.put(url, body, content_type="application/json")
    assert saved.status_code == 200 and saved.json()["items"][0]["override_reason"] == "Surgeon's protocol."


def test_an_emoji_in_the_handout_prints_as_itself_never_as_an_empty_box(episode, therapist, client_for, practice):
    save(therapist, episode, introduction="Gentle does it 🙂", items=[{"item": "chin_tuck", "notes": "Daily 🌿"}])
    response = client_for(therapist).get(reverse("clinical:homecare_pdf", args=[episode.public_id]))
    text = pdf_text(response.content)
    assert "Gentle does it 🙂" in text and "Daily 🌿" in text
    assert "could not be printed" not in text
