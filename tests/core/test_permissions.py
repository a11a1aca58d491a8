"""The permission table is the single source of truth: every URL is in it, and every
URL answers each role exactly as the table says."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from effleura.core import permissions
from effleura.core.models import AuditEvent
from effleura.patients import actions as patient_actions
from effleura.patients.models import ConsentDocument
from effleura.scheduling.models import Service


def _walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or ""
            yield from _walk(entry.url_patterns, f"{namespace}{ns}:" if ns else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def url_names():
    return sorted({name for name, _ in _walk(get_resolver().url_patterns)})


def test_every_url_has_an_entry_in_the_permission_table():
    missing = [name for name in url_names() if name not in permissions.URL_RULES]
    assert missing == [], f"Add these URLs to URL_RULES in core/permissions.py: {missing}"


def test_the_table_lists_no_url_that_does_not_exist():
    stale = sorted(set(permissions.URL_RULES) - set(url_names()))
    assert stale == [], f"URL_RULES names URLs that no longer exist: {stale}"


def test_every_permission_key_in_the_url_table_is_defined():
    keys = set()
    for entry in permissions.URL_RULES.values():
        keys.update(entry.values() if isinstance(entry, dict) else [entry])
    keys.discard(permissions.PUBLIC)
    assert keys <= set(permissions.RULES)


def test_front_desk_and_billing_hold_no_clinical_permission():
    for key, rule in permissions.RULES.items():
        if key.startswith("health_history."):
            assert permissions.FRONT_DESK not in rule.roles
            assert permissions.BILLING not in rule.roles


def test_an_inactive_user_holds_nothing(owner):
    owner.is_active = False
    assert not permissions.has_permission(owner, "patient.view")
    assert not permissions.has_permission(owner, "account.use")


@pytest.fixture
def url_kwargs(owner, make_patient):
    """Real objects for every URL parameter, so each URL resolves to something that exists."""
    patient = make_patient()
    document = patient_actions.do_create_consent_document(
        owner, title="Treatment consent", kind="treatment", required=True, body="I agree to massage treatment."
    )
    version = document.versions.get()
    consent = patient_actions.do_capture_consent(
        owner, patient, version, patient_actions.ConsentSignature("Testpatient Synthetic")
    )
    clean = patient_actions.check_add_health_history(owner, patient, {"presenting_complaint": "neck"})
    patient_actions.do_add_health_history(owner, patient, clean)
    from effleura.core.actions import do_create_api_token

    token, _raw = do_create_api_token(owner, "walk")
    scheduling = _scheduling_objects(owner, patient)
    clinical = _clinical_objects(owner, patient)
    referrals = _referral_objects(owner, patient, clinical["episode_id"])
    billing = _billing_objects(owner, patient, scheduling["service_id"])
    return {
        **scheduling,
        **clinical,
        **referrals,
        **billing,
        "patient_id": patient.public_id,
        "id": patient.public_id,
        "document_id": document.public_id,
        "record_id": consent.public_id,
        "version": 1,
        "token_id": token.public_id,
        "user_id": owner.public_id,
        "uidb64": "MQ",
        "token": "set-password",
        "passkey_id": "0" * 64,  # no such passkey: the page says so (core/mfa.py)
    }


def _scheduling_objects(owner, patient) -> dict:
    """One of each scheduling object, made directly: the walk tests the permission table,
    not the booking rules."""
    import datetime

    from django.utils import timezone

    from effleura.core.models import hash_token
    from effleura.scheduling import models as sched

    location = sched.Location.objects.create(name="Walk clinic", time_zone="UTC")
    room = sched.Room.objects.create(location=location, name="Room 1")
    service = sched.Service.objects.create(name="Walk massage", durations=[60], changeover_minutes=0)
    service.practitioners.add(owner)
    hours = sched.WorkingHours.objects.create(
        practitioner=owner, location=location, weekday=0, start=datetime.time(9), end=datetime.time(17)
    )
    exception = sched.ScheduleException.objects.create(
        practitioner=owner, location=location, date=timezone.localdate() + datetime.timedelta(days=30)
    )
    start = timezone.now() + datetime.timedelta(days=7)
    time_off = sched.TimeOff.objects.create(practitioner=owner, start=start, end=start + datetime.timedelta(days=1))
    closure = sched.Closure.objects.create(
        location=location, first_day=timezone.localdate() + datetime.timedelta(days=40),
        last_day=timezone.localdate() + datetime.timedelta(days=40), reason="Walk closure",
    )  # fmt: skip
    series = sched.Series.objects.create(
        patient=patient, practitioner=owner, service=service, location=location, duration_minutes=60,
        visits=1, every_days=7, created_by=owner,
    )  # fmt: skip
    appointment = sched.Appointment.objects.create(
        patient=patient, practitioner=owner, service=service, location=location, room=room, duration_minutes=60,
        start=start, end=start + datetime.timedelta(hours=1), busy_until=start + datetime.timedelta(hours=1),
        series=series, created_by=owner,
    )  # fmt: skip
    entry = sched.WaitlistEntry.objects.create(
        patient=patient, service=service, location=location, duration_minutes=60,
        windows=[{"weekday": 0, "start": "09:00", "end": "12:00"}], created_by=owner,
    )  # fmt: skip
    feed = sched.CalendarFeed.objects.create(practitioner=owner, key_hash=hash_token("walk-feed"), hint="walk")
    return {
        "location_id": location.public_id,
        "room_id": room.public_id,
        "service_id": service.public_id,
        "hours_id": hours.public_id,
        "exception_id": exception.public_id,
        "time_off_id": time_off.public_id,
        "closure_id": closure.public_id,
        "series_id": series.public_id,
        "appointment_id": appointment.public_id,
        "entry_id": entry.public_id,
        "feed_id": feed.public_id,
        "key": "not-a-real-feed-key",
    }


def _clinical_objects(owner, patient) -> dict:
    """One of each clinical record, made directly (the walk tests the table, not the rules)."""
    from effleura.clinical import models as clinical
    from effleura.scheduling.models import Service

    episode = clinical.Episode.objects.create(patient=patient, title="Walk episode", therapist=owner, created_by=owner)
    plan = clinical.TreatmentPlan.objects.create(
        episode=episode, diagnosis_codes=["M54.50"], sessions_per_week=2, weeks=4, session_minutes=60, created_by=owner
    )
    goal = clinical.Goal.objects.create(plan=plan, description="Less pain", measure="nprs", baseline=7, target=3)
    measurement = clinical.OutcomeMeasurement.objects.create(
        episode=episode, measure="nprs", answers=[5], score=5, unit="/10", recorded_by=owner
    )
    template = clinical.NoteTemplate.objects.create(service=Service.objects.get(name="Walk massage"), name="Walk")
    return {
        "episode_id": episode.public_id,
        "plan_id": plan.public_id,
        "goal_id": goal.public_id,
        "measurement_id": measurement.public_id,
        "template_id": template.public_id,
        **_drafts_by(owner, episode),
    }


def _referral_objects(owner, patient, episode_id) -> dict:
    import datetime

    from django.utils import timezone

    from effleura.clinical.models import Episode
    from effleura.referrals import models as referrals

    today = timezone.localdate()
    provider = referrals.ReferringProvider.objects.create(first_name="Walk", last_name="Provider", npi="1234567893")
    referral = referrals.Referral.objects.create(
        patient=patient, provider=provider, referral_date=today, diagnosis_codes=["M54.50"], visits_authorized=8,
        valid_from=today, valid_until=today + datetime.timedelta(days=60), created_by=owner,
    )  # fmt: skip
    # Signed: a draft's PDF and send pages redirect with a message instead of answering.
    report = referrals.Report.objects.create(
        episode=Episode.objects.get(public_id=episode_id), referral=referral, period_start=today, period_end=today,
        author=owner, status="signed", signed_at=timezone.now(),
    )  # fmt: skip
    # An earlier scan whose file is not in storage: allowed roles get the missing-file 404.
    scan = referrals.EarlierScan.objects.create(
        referral=referral, file="referrals/walk-missing.pdf", content_type="application/pdf", why="removed",
        superseded_by=owner,
    )  # fmt: skip
    return {
        "provider_id": provider.public_id,
        "referral_id": referral.public_id,
        "report_id": report.public_id,
        "scan_id": scan.public_id,
    }


def _billing_objects(owner, patient, service_id) -> dict:
    """One of each billing record, made directly (the walk tests the table, not the rules)."""
    from decimal import Decimal

    from django.utils import timezone

    from effleura.billing import models as billing
    from effleura.scheduling.models import Service

    today = timezone.localdate()
    code = billing.ProcedureCode.objects.get(code="97124")
    payer = billing.Payer.objects.create(name="Walk payer")
    fee = billing.FeeScheduleEntry.objects.create(code=code, amount=Decimal("30.00"))
    plan = billing.PackagePlan.objects.create(name="Walk 5 visits", sessions=5, price=Decimal("400.00"))
    package = billing.Package.objects.create(
        patient=patient, plan=plan, name=plan.name, sessions=5, price=plan.price, expires_on=today, created_by=owner
    )
    policy = billing.Policy.objects.create(patient=patient, payer=payer, member_id="WALK1", created_by=owner)
    invoice = billing.Invoice.objects.create(number="WALK-1", patient=patient, total=Decimal("60.00"), created_by=owner)
    payment = billing.Payment.objects.create(patient=patient, method="cash", amount=Decimal("20.00"), recorded_by=owner)
    billing.PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=Decimal("20.00"), by=owner)
    return {
        "code_id": code.public_id,
        "payer_id": payer.public_id,
        "fee_id": fee.public_id,
        "plan_id": plan.public_id,
        "package_id": package.public_id,
        "policy_id": policy.public_id,
        "invoice_id": invoice.public_id,
        "payment_id": payment.public_id,
        "technique": "swedish",
        **_charge_by(owner, patient, invoice, policy, Service.objects.get(public_id=service_id)),
    }


def _charge_by(practitioner, patient, invoice, policy, service) -> dict:
    """A visit's charge (and a claim for it) by ``practitioner``: a therapist sees only the
    charges of their own visits (an object rule beyond the table), so each walks their own."""
    from decimal import Decimal

    from django.utils import timezone

    from effleura.billing import models as billing

    charge = billing.Charge.objects.create(
        patient=patient, practitioner=practitioner, service=service, date_of_service=timezone.localdate(),
        diagnosis_codes=["M54.50"], total=Decimal("60.00"), created_by=practitioner, status="invoiced",
        payer=policy.payer, policy=policy,
    )  # fmt: skip
    billing.ChargeLine.objects.create(
        charge=charge, code=billing.ProcedureCode.objects.get(code="97124"), minutes=30, computed_units=2, units=2,
        unit_price=Decimal("30.00"), amount=Decimal("60.00"), diagnosis_pointer="A",
    )  # fmt: skip
    billing.InvoiceLine.objects.create(
        invoice=invoice, charge=charge, date_of_service=charge.date_of_service, code="97124", description="Massage",
        units=2, amount=Decimal("60.00"),
    )  # fmt: skip
    claim = billing.Claim.objects.create(
        charge=charge, policy=policy, billed_amount=charge.total, created_by=practitioner
    )
    return {"charge_id": charge.public_id, "claim_id": claim.public_id}


def _drafts_by(author, episode) -> dict:
    """A draft assessment and note written by ``author``: only a draft's author may edit or
    sign it (an object rule beyond the table), so each clinician walks their own."""
    from effleura.clinical import models as clinical

    assessment = clinical.Assessment.objects.create(episode=episode, author=author)
    note = clinical.SessionNote.objects.create(episode=episode, author=author)
    return {"assessment_id": assessment.public_id, "note_id": note.public_id}


def _methods(name):
    entry = permissions.URL_RULES[name]
    return list(entry) if isinstance(entry, dict) else ["GET"]


def _url(name, pattern, kwargs):
    params = list(pattern.pattern.converters) or []
    if not params and hasattr(pattern.pattern, "_route"):
        params = []
    missing = [p for p in params if p not in kwargs]
    assert not missing, f"test_permissions.url_kwargs needs a value for {missing} of {name}"
    return reverse(name, kwargs={p: kwargs[p] for p in params})


@pytest.mark.parametrize("role", ["owner", "therapist", "front_desk", "billing", "outsider", "anonymous"])
def test_every_url_answers_each_role_as_the_table_says(role, personas, url_kwargs):
    client = Client()
    user = personas.get(role)
    if user is not None:
        client.force_login(user)
    failures = []
    kwargs = dict(url_kwargs)
    if user is not None and user.role == "therapist":
        # A therapist may revoke only their own calendar feed (an object rule beyond the table).
        from effleura.core.models import hash_token
        from effleura.scheduling.models import CalendarFeed

        kwargs["feed_id"] = CalendarFeed.objects.create(
            practitioner=user, key_hash=hash_token("walk-feed-therapist"), hint="walk"
        ).public_id
    if user is not None and user.role == "therapist":
        from effleura.clinical.models import Episode

        kwargs.update(_drafts_by(user, Episode.objects.get(public_id=url_kwargs["episode_id"])))
        from effleura.billing.models import Invoice, Policy

        policy = Policy.objects.get(public_id=url_kwargs["policy_id"])
        invoice = Invoice.objects.get(public_id=url_kwargs["invoice_id"])
        service = Service.objects.get(public_id=url_kwargs["service_id"])
        kwargs.update(_charge_by(user, policy.patient, invoice, policy, service))
    for name, pattern in _walk(get_resolver().url_patterns):
        if name in ("core:logout", "core:password_reset_confirm", "core:second_factor"):
            # Logging out ends the walk's session; the reset link needs a real token; the
            # second step of signing in needs a password step first (tests/core/test_mfa.py).
            continue
        url = _url(name, pattern, kwargs)
        for method in _methods(name):
            response = (
                getattr(client, method.lower())(url, content_type="application/json")
                if method != "GET"
                else client.get(url)
            )
            if "handover" in client.session:  # "Hand to patient" locks the session: unlock it for the walk
                session = client.session
                del session["handover"]
                session.save()
            key = permissions.url_permission(name, method)
            refused = response.status_code in (401, 403) or (
                response.status_code == 302 and "/login/" in response.get("Location", "")
            )
            if key == permissions.PUBLIC:
                expected_refused = False
            else:
                expected_refused = user is None or not permissions.has_permission(user, key)
            if refused != expected_refused:
                failures.append(f"{method} {name} -> {response.status_code} (refusal expected: {expected_refused})")
    assert failures == []


def test_a_refused_attempt_at_a_patient_url_is_audited_as_denied(front_desk, make_patient, client_for):
    patient = make_patient()
    response = client_for(front_desk).get(reverse("patients:history", args=[patient.public_id]))
    assert response.status_code == 403
    event = AuditEvent.objects.filter(outcome="denied").get()
    assert event.patient_id == patient.public_id
    assert event.actor_username == "front_desk"
    assert event.record_type == "health_history"


def test_an_anonymous_visitor_is_sent_to_log_in(db, client):
    response = client.get(reverse("patients:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("core:login"))


def test_a_url_missing_from_the_table_is_refused(monkeypatch, owner, client_for):
    monkeypatch.delitem(permissions.URL_RULES, "patients:list")
    assert client_for(owner).get(reverse("patients:list")).status_code == 403


def test_consent_documents_are_listed_for_every_role_but_managed_by_the_owner(personas, client_for, owner):
    document = patient_actions.do_create_consent_document(
        owner, title="Privacy notice", kind="privacy", required=True, body="How we keep and share your records."
    )
    for role, user in personas.items():
        page = client_for(user).get(reverse("patients:consent_document", args=[document.public_id]))
        assert page.status_code == (403 if role == "outsider" else 200)
        toggle = client_for(user).post(reverse("patients:consent_document", args=[document.public_id]), {"active": "0"})
        assert toggle.status_code == (302 if role == "owner" else 403)
    assert not ConsentDocument.objects.get(pk=document.pk).is_active


GARBAGE = {
    "q": "\x00<script>",
    "page": "abc",
    "date": "2026-02-30",
    "start": "not-a-time",
    "end": "2026-13-01",
    "location": "not-a-uuid",
    "practitioner": "12",
    "patient": "x",
    "service": "%",
    "duration": "-5",
    "status": "nonsense",
    "measure": "../etc",
    "kind": "???",
    "format": "exe",
    "by": "nobody",
    "user": "nobody",
    "outcome": "maybe",
    "appointment": "nope",
    "episode": "nope",
}


def test_no_page_answers_500_to_malformed_query_parameters(owner, url_kwargs):
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    failures = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if name in ("core:logout", "core:password_reset_confirm"):
            continue
        if "GET" not in _methods(name):
            continue
        response = client.get(_url(name, pattern, url_kwargs), GARBAGE)
        if response.status_code >= 500:
            failures.append(f"{name} -> {response.status_code}")
    assert failures == []


POSTED_GARBAGE = {
    **GARBAGE,
    "amount": "12,50€",
    "method": "bitcoin",
    "units": "-1",
    "reason": "x" * 5000,
    "charge": "not-a-uuid",
    "invoices": "not-a-uuid",
    "code": "\x00",
    "payer": "nobody",
    "priority": "first",
    "relationship": "cousin",
    "received_on": "yesterday",
    "due_on": "2026-02-30",
    "paid_amount": "NaN",
    "plan": "nope",
    "sessions": "1e9",
    "technique": "\x00",
}


def test_no_billing_form_answers_500_to_nonsense(owner, url_kwargs):
    """Every billing form posted with nonsense answers with a message (or a redirect), never 500."""
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    failures = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if not name.startswith("billing:") or "POST" not in _methods(name):
            continue
        response = client.post(_url(name, pattern, url_kwargs), POSTED_GARBAGE)
        if response.status_code >= 500:
            failures.append(f"{name} -> {response.status_code}")
    assert failures == []
