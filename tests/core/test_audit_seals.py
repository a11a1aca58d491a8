"""Sealing the audit trail in keyed, chained blocks, and finding every kind of tampering
(issue 12 item 5)."""

import datetime
import itertools
import re
import threading
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from effleura.core import audit, seals
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.duties import DUTIES
from effleura.core.models import AuditEvent, AuditSeal, AuditVerification

KEY = "k" * 64


@pytest.fixture(autouse=True)
def _known_key(settings):
    settings.EFFLEURA_AUDIT_KEY = KEY


def _record(actor, n: int = 1, **fields) -> list[AuditEvent]:
    return [audit.record(actor, AuditAction.READ, "patient", record_id=uuid.uuid4(), **fields) for _ in range(n)]


def _event_ids() -> list[int]:
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


class _triggers_off:
    """What a database administrator (or an attacker with their rights) can do: switch the
    append-only triggers off for a moment. Inside the test's transaction, so it is undone."""

    def __enter__(self):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
                cursor.execute("ALTER TABLE core_auditseal DISABLE TRIGGER USER")
            else:
                from effleura.core.append_only import drop_sqlite_audit_triggers

                drop_sqlite_audit_triggers()
        return self

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")
                cursor.execute("ALTER TABLE core_auditseal ENABLE TRIGGER USER")
            else:
                from effleura.core.append_only import ensure_audit_triggers

                ensure_audit_triggers()


def _sql(statement: str, params=()):
    with _triggers_off(), connection.cursor() as cursor:
        cursor.execute(statement, params)


# --- sealing --------------------------------------------------------------------------------


def test_it_seals_every_event_in_id_order_in_chained_blocks(owner):
    _record(owner, 25)
    ids = _event_ids()
    assert seals.seal_pending(block_size=10) == len(ids)
    made = list(AuditSeal.objects.order_by("sequence"))
    assert [s.sequence for s in made] == [1, 2, 3]
    assert [s.count for s in made] == [10, 10, len(ids) - 20]
    assert made[0].first_event_id == ids[0] and made[-1].last_event_id == ids[-1]
    assert [s.previous_hmac for s in made] == ["", made[0].hmac, made[1].hmac]
    assert all(re.fullmatch("[0-9a-f]{64}", s.hmac) for s in made)
    assert made[1].first_event_id == made[0].last_event_id + 1
    report = seals.verify()
    assert report.ok, report.problems
    assert (report.sealed, report.unsealed, report.seals) == (len(ids), 0, 3)


def test_a_second_run_seals_only_the_new_events_and_continues_the_chain(owner):
    _record(owner, 3)
    seals.seal_pending()
    assert seals.seal_pending() == 0
    _record(owner, 2)
    assert seals.seal_pending() == 2
    first, second = AuditSeal.objects.order_by("sequence")
    assert second.previous_hmac == first.hmac
    assert second.first_event_id == first.last_event_id + 1
    assert seals.verify().ok


def test_events_not_sealed_yet_are_counted_with_the_oldest(owner):
    _record(owner, 2)
    seals.seal_pending()
    later = _record(owner, 3)
    report = seals.verify()
    assert report.ok
    assert report.unsealed == 3
    assert report.oldest_unsealed == later[0].at
    assert any("3 event(s) not sealed yet" in line for line in report.lines())


def test_long_unsealed_events_warn_that_the_sealer_is_not_running(owner):
    audit.record(owner, AuditAction.READ, "patient")
    AuditEvent.objects.create(at=timezone.now() - datetime.timedelta(hours=1), record_type="patient", action="read")
    report = seals.verify()
    assert report.ok
    assert "is `effleura worker` running?" in report.warnings[0]


def test_every_field_of_an_event_is_sealed():
    # A new field must be added to EVENT_FIELDS (and FORMAT raised) to be sealed.
    assert set(seals.EVENT_FIELDS) == {f.attname for f in AuditEvent._meta.concrete_fields}


def test_sealing_is_a_worker_duty_that_runs_every_minute(owner):
    duty = next(d for d in DUTIES if d.name == "seal the audit trail")
    assert duty.every == 60
    _record(owner, 2)
    duty.run()
    assert AuditSeal.objects.get().count == len(_event_ids())


def test_the_worker_verifies_once_a_day_whichever_worker_comes_first(owner):
    duty = next(d for d in DUTIES if d.name == "verify the audit trail")
    duty.run()
    duty.run()
    assert list(AuditVerification.objects.values_list("by", flat=True)) == ["worker"]


def test_the_model_refuses_to_change_or_delete_a_seal(owner):
    _record(owner)
    seals.seal_pending()
    seal = AuditSeal.objects.get()
    seal.hmac = "0" * 64
    with pytest.raises(PermissionError):
        seal.save()
    with pytest.raises(PermissionError):
        seal.delete()
    with pytest.raises(PermissionError):
        AuditSeal.objects.update(hmac="0" * 64)
    with pytest.raises(PermissionError):
        AuditSeal.objects.all().delete()


def test_sealing_without_a_key_is_refused(owner, settings):
    _record(owner)
    settings.EFFLEURA_AUDIT_KEY = ""
    with pytest.raises(seals.MissingAuditKey):
        seals.seal_pending()
    assert not AuditSeal.objects.exists()


# --- tampering ------------------------------------------------------------------------------


@pytest.fixture
def sealed(owner):
    _record(owner, 12)
    seals.seal_pending(block_size=5)
    assert seals.verify(record=False).ok
    return _event_ids()


def test_a_changed_event_is_named(sealed):
    _sql("UPDATE core_auditevent SET detail = 'tampered' WHERE id = %s", [sealed[6]])
    report = seals.verify()
    assert not report.ok
    assert report.problems == [f"Seal 2 (events {sealed[5]}–{sealed[9]}): event {sealed[6]} changed since sealing."]


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor_username", "someone_else"), ("outcome", AuditOutcome.DENIED), ("client_address", "10.9.9.9")],
)
def test_a_change_to_any_column_is_found(sealed, column, value):
    _sql(f"UPDATE core_auditevent SET {column} = %s WHERE id = %s", [value, sealed[0]])  # noqa: S608
    assert f"event {sealed[0]} changed" in seals.verify().problems[0]


def test_a_changed_time_is_found(sealed):
    event = AuditEvent.objects.get(pk=sealed[3])
    _sql("UPDATE core_auditevent SET at = %s WHERE id = %s", [event.at - datetime.timedelta(seconds=1), sealed[3]])
    assert f"event {sealed[3]} changed" in seals.verify().problems[0]


def test_a_deleted_event_is_named(sealed):
    _sql("DELETE FROM core_auditevent WHERE id IN (%s, %s)", [sealed[0], sealed[11]])
    problems = seals.verify().problems
    assert f"event {sealed[0]} missing" in problems[0]
    assert f"event {sealed[11]} missing" in problems[1]


def test_an_event_replaced_by_another_with_its_id_is_named(sealed):
    _sql("DELETE FROM core_auditevent WHERE id = %s", [sealed[2]])
    AuditEvent.objects.create(id=sealed[2], record_type="patient", action="read", outcome="allowed")
    assert f"event {sealed[2]} changed" in seals.verify().problems[0]


def test_an_event_that_appears_inside_a_sealed_range_is_added_after_sealing(owner):
    # A gap in the ids (a rolled-back insert on PostgreSQL), then an event filling it.
    _record(owner, 3)
    last = _event_ids()[-1]
    AuditEvent.objects.create(id=last + 5, record_type="patient", action="read", outcome="allowed")
    seals.seal_pending()
    AuditEvent.objects.create(id=last + 2, record_type="patient", action="read", outcome="allowed")
    first = _event_ids()[0]
    assert seals.verify().problems == [f"Seal 1 (events {first}–{last + 5}): event {last + 2} added after sealing."]


def test_a_forged_seal_does_not_match_its_events(sealed):
    _sql("UPDATE core_auditseal SET hmac = %s WHERE sequence = 3", ["0" * 64])
    assert seals.verify().problems == [
        f"Seal 3 (events {sealed[10]}–{sealed[11]}): "
        "the seal does not match its events, so the seal itself was altered."
    ]


def test_a_seal_rewritten_to_cover_a_change_breaks_the_chain(sealed):
    # The attacker cannot compute an HMAC without the key; with a wrong one, the key shows.
    _sql("UPDATE core_auditseal SET previous_hmac = %s WHERE sequence = 2", ["f" * 64])
    problems = seals.verify().problems
    assert "The chain is broken at seal 2: it does not follow the seal before it." in problems


def test_a_seal_whose_list_of_events_was_altered_is_found(sealed):
    _sql("UPDATE core_auditseal SET event_ids = %s WHERE sequence = 1", ["1-999999999999"])
    problems = seals.verify().problems
    assert problems == [
        f"Seal 1 (events {sealed[0]}–{sealed[4]}): its list of events is damaged, so the seal itself was altered."
    ]


def test_a_removed_seal_in_the_middle_is_found(sealed):
    _sql("DELETE FROM core_auditseal WHERE sequence = 2")
    problems = seals.verify().problems
    assert problems[0] == f"Seals 2–2 are missing, so events {sealed[5]}–{sealed[9]} can no longer be checked."


def test_removing_the_newest_seals_is_found_by_the_last_verification(sealed):
    seals.verify()
    _sql("DELETE FROM core_auditseal WHERE sequence = 3")
    _sql("DELETE FROM core_auditevent WHERE id > %s", [sealed[9]])
    problems = seals.verify().problems
    assert problems and problems[0].startswith("Seal 3, seen by the verification of ")
    assert problems[0].endswith("is gone: seals were removed.")


def test_a_wrong_key_is_named_as_such(sealed, settings):
    settings.EFFLEURA_AUDIT_KEY = "w" * 64
    problems = seals.verify().problems
    assert len(problems) == 1
    assert problems[0].startswith("Seals from seal 1 on were made with another audit key")


def test_a_missing_key_is_a_problem(sealed, settings):
    settings.EFFLEURA_AUDIT_KEY = ""
    report = seals.verify()
    assert not report.ok
    assert report.problems[0].startswith("No audit key is configured")


def test_an_intact_trail_after_a_refused_rewrite_still_verifies(sealed):
    with pytest.raises(Exception), transaction.atomic(), connection.cursor() as cursor:  # noqa: B017
        cursor.execute("UPDATE core_auditevent SET detail = 'tampered'")
    assert seals.verify().ok


# --- the command and the owner's page -------------------------------------------------------


def test_audit_verify_prints_the_report_and_records_the_run(sealed, capsys):
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "3 seal(s) covering 12 event(s)" in out
    assert "The audit trail verifies." in out
    run = AuditVerification.objects.get()
    assert run.ok and run.by.endswith("(command line)")
    assert (run.sealed, run.last_seal_sequence) == (12, 3)


def test_audit_verify_fails_on_any_problem(sealed, capsys):
    _sql("DELETE FROM core_auditevent WHERE id = %s", [sealed[4]])
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify")
    assert refused.value.returncode == 1
    assert f"Problem: Seal 1 (events {sealed[0]}–{sealed[4]}): event {sealed[4]} missing" in capsys.readouterr().out
    assert AuditVerification.objects.get().ok is False


def test_audit_seal_seals_now(owner, capsys):
    _record(owner, 4)
    call_command("audit", "seal")
    assert "Sealed 4 event(s)." in capsys.readouterr().out


def test_the_owners_audit_page_shows_the_last_seal_and_verification(sealed, owner, client_for):
    page = client_for(owner).get(reverse("core:audit_list")).content.decode()
    assert "Never verified" in page
    seals.verify(by="owner")
    page = client_for(owner).get(reverse("core:audit_list")).content.decode()
    assert "Last verified" in page and "no problems found" in page
    assert "Last seal" in page and "seal 3" in page


def test_the_owners_audit_page_shows_a_failed_verification(sealed, owner, client_for):
    _sql("DELETE FROM core_auditevent WHERE id = %s", [sealed[0]])
    seals.verify(by="worker")
    page = client_for(owner).get(reverse("core:audit_list")).content.decode()
    assert "1 problem" in page and f"event {sealed[0]} missing" in page


# --- the invariant, for any events and any block sizes ---------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_moment = st.datetimes(
    min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2100, 1, 1), timezones=st.just(datetime.UTC)
)
_event = st.tuples(
    st.uuids(), _moment, st.none() | st.integers(1, 10**6), _text, _text, st.none() | st.uuids(),
    _text, _text, st.sampled_from(["read", "create"]), st.sampled_from(["allowed", "denied"]), _text, _text,
)  # fmt: skip


def _chain(rows, sizes):
    made, previous, start = [], "", 0
    for n, size in enumerate(sizes):
        block = rows[start : start + size]
        if not block:
            break
        draft = seals.make_seal(KEY, sequence=n + 1, previous_hmac=previous, sealed_at=block[-1][2], rows=block)
        made.append((draft, block))
        previous, start = draft.hmac, start + size
    return made


def _problems(made):
    found, previous = [], None
    for draft, block in made:
        found += seals.check_seal(KEY, draft, previous, block)
        previous = draft
    return found


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(_event, min_size=1, max_size=30),
    gaps=st.lists(st.integers(1, 3), min_size=30, max_size=30),
    sizes=st.lists(st.integers(1, 8), min_size=30, max_size=30),
    data=st.data(),
)
def test_any_events_in_any_blocks_verify_and_any_single_change_is_found(events, gaps, sizes, data):
    ids = [sum(gaps[: n + 1]) for n in range(len(events))]
    rows = [(i, *event) for i, event in zip(ids, events, strict=True)]
    made = _chain(rows, sizes)
    assert sum(len(block) for _, block in made) == len(rows)
    assert _problems(made) == []

    which = data.draw(st.integers(0, len(made) - 1))
    draft, block = made[which]
    row_index = data.draw(st.integers(0, len(block) - 1))
    column = data.draw(st.integers(1, len(seals.EVENT_FIELDS) - 1))
    row = list(block[row_index])
    replacement = data.draw(
        {2: _moment, 1: st.uuids(), 6: st.none() | st.uuids(), 3: st.none() | st.integers(1, 10**6)}.get(column, _text)
    )
    if replacement == row[column]:
        return
    row[column] = replacement
    tampered = list(made)
    tampered[which] = (draft, [*block[:row_index], tuple(row), *block[row_index + 1 :]])
    assert _problems(tampered) == [
        f"Seal {draft.sequence} (events {draft.first_event_id}–{draft.last_event_id}): "
        f"event {row[0]} changed since sealing."
    ]


# --- PostgreSQL: concurrent sealers and events that commit out of order ---------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads meet only on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_never_seal_twice_or_skip_an_event(owner):
    errors: list[Exception] = []
    start = threading.Barrier(6, timeout=60)

    def write():
        try:
            start.wait()
            for _ in range(40):
                _record(owner)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def seal():
        try:
            start.wait()
            for _ in range(15):
                seals.seal_pending(block_size=7)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(2)] + [threading.Thread(target=seal) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seals.seal_pending()
    made = list(AuditSeal.objects.order_by("sequence"))
    assert [s.sequence for s in made] == list(range(1, len(made) + 1))
    for before, after in itertools.pairwise(made):
        assert after.first_event_id > before.last_event_id and after.previous_hmac == before.hmac
    assert sum(s.count for s in made) == AuditEvent.objects.count() == 80
    report = seals.verify()
    assert report.ok, report.problems
    assert report.unsealed == 0


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads meet only on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_is_never_sealed_past(owner):
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()
    slow: list[int] = []

    def slow_request():
        try:
            with transaction.atomic():
                slow.append(_record(owner)[0].pk)
                inserted.set()
                release.wait(30)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=slow_request)
    thread.start()
    assert inserted.wait(30)
    later = _record(owner)[0]  # a higher id, committed first
    assert later.pk > slow[0]
    seals.seal_pending()
    assert not AuditSeal.objects.filter(last_event_id__gte=slow[0]).exists()
    release.set()
    done.wait(30)
    thread.join()
    seals.seal_pending()  # the slow transaction has ended: the horizon moves past both
    seals.seal_pending()
    report = seals.verify()
    assert report.ok, report.problems
    assert report.unsealed == 0
