"""Reading a large audit trail (docs/decisions/0027): keyset pages by (at, id), the CSV
export in keyset chunks, and the same number of queries whatever the trail's size."""

import csv
import datetime
import io
import re
import uuid

import pytest
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effleura.core import access, audit, clock, seals
from effleura.core.choices import AuditAction, AuditOutcome
from effleura.core.models import AuditEvent

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def _events(patient_id, entries, actors):
    """Audit events of ``patient_id`` at T0 + each entry's seconds (repeats give equal
    timestamps), by the actor and with the outcome each entry names."""
    made = AuditEvent.objects.bulk_create(
        AuditEvent(
            at=T0 + datetime.timedelta(seconds=second),
            actor_id=actors[who].pk,
            actor_username=actors[who].username,
            actor_role=actors[who].role,
            patient_id=patient_id,
            record_type="patient",
            record_id=str(patient_id),
            action=AuditAction.READ,
            outcome=outcome,
            detail="synthetic",
        )
        for second, who, outcome in entries
    )
    return made


def _newest_first(rows):
    return sorted(rows, key=lambda e: (e.at, e.id), reverse=True)


def _walk_older(user, filters, per_page):
    """Every page from the newest, following "Older"; the pages' ids in order."""
    pages, before = [], ""
    while True:
        page = access.access_audit_events(user, filters, before=before, per_page=per_page)
        pages.append([e.id for e in page])
        if not page.older:
            return pages
        before = page.older


def _walk_newer(user, filters, before, per_page):
    """From the page ``before`` opens, every page back up, following "Newer"."""
    page = access.access_audit_events(user, filters, before=before, per_page=per_page)
    pages = [[e.id for e in page]]
    while page.newer:
        page = access.access_audit_events(user, filters, after=page.newer, per_page=per_page)
        pages.append([e.id for e in page])
    return pages


entries = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6),  # few distinct seconds: many equal timestamps
        st.sampled_from(["owner", "therapist"]),
        st.sampled_from([AuditOutcome.ALLOWED, AuditOutcome.DENIED]),
    ),
    max_size=40,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entries=entries,
    per_page=st.integers(min_value=1, max_value=7),
    by=st.sampled_from([None, "owner", "therapist"]),
    outcome=st.sampled_from(["", AuditOutcome.ALLOWED, AuditOutcome.DENIED]),
)
def test_paging_shows_every_entry_exactly_once_in_order_with_any_filters(
    owner, therapist, entries, per_page, by, outcome
):
    actors = {"owner": owner, "therapist": therapist}
    savepoint = transaction.savepoint()
    try:
        patient_id = uuid.uuid4()
        made = _events(patient_id, entries, actors)
        # Up to the day of the entries: each page read is itself audited against the
        # patient, today, and a walk up by "Newer" would meet those too.
        filters = access.AuditFilters(patient_id=patient_id, actor=actors.get(by), outcome=outcome, end=T0.date())
        stored = AuditEvent.objects.filter(pk__in=[e.pk for e in made])
        expected = [
            e.id
            for e in _newest_first(stored)
            if (by is None or e.actor_id == actors[by].pk) and (not outcome or e.outcome == outcome)
        ]
        pages = _walk_older(owner, filters, per_page)
        assert [i for page in pages for i in page] == expected
        assert all(len(page) == per_page for page in pages[:-1])
        # From the oldest page back up by "Newer": the same pages, the other way round.
        if len(pages) > 1:
            oldest = AuditEvent.objects.get(pk=pages[-2][-1])
            assert _walk_newer(owner, filters, access.position(oldest), per_page) == pages[::-1]
    finally:
        transaction.savepoint_rollback(savepoint)


def test_the_pages_links_lead_through_the_whole_trail_and_back(owner, therapist, client_for):
    patient_id = uuid.uuid4()
    # 120 entries over 30 instants: four share each timestamp, so pages split instants.
    _events(patient_id, [(n // 4, "therapist", AuditOutcome.ALLOWED) for n in range(120)], {"therapist": therapist})
    client = client_for(owner)
    url, seen, pages = f"{reverse('core:audit_list')}?patient={patient_id}", [], 0
    while url:
        response = client.get(url)
        seen += [e.id for e in response.context["page"]]
        pages += 1
        older = re.search(r'href="\?([^"]*before=[^"]*)" rel="next"', response.content.decode())
        url = f"{reverse('core:audit_list')}?{older.group(1).replace('&amp;', '&')}" if older else ""
    expected = list(
        AuditEvent.objects.filter(patient_id=patient_id, record_type="patient")
        .order_by("-at", "-id")
        .values_list("id", flat=True)
    )
    assert (pages, seen) == (3, expected)
    text = response.content.decode()
    assert "Older" not in text and 'rel="prev">Newer</a>' in text and ">Newest</a>" in text
    assert f"?patient={patient_id}" in text  # "Newest" keeps the filter
    newer = re.search(r'href="\?([^"]*after=[^"]*)" rel="prev"', text).group(1).replace("&amp;", "&")
    back = client.get(f"{reverse('core:audit_list')}?{newer}")
    assert [e.id for e in back.context["page"]] == expected[50:100]


def test_a_page_link_shows_the_same_entries_after_new_ones_arrive(owner, therapist, client_for):
    patient_id = uuid.uuid4()
    _events(patient_id, [(n, "therapist", AuditOutcome.ALLOWED) for n in range(60)], {"therapist": therapist})
    client = client_for(owner)
    first = client.get(reverse("core:audit_list"), {"patient": str(patient_id)}).context["page"]
    older = {"patient": str(patient_id), "before": first.older}
    before = [e.id for e in client.get(reverse("core:audit_list"), older).context["page"]]
    _events(patient_id, [(100 + n, "therapist", AuditOutcome.ALLOWED) for n in range(20)], {"therapist": therapist})
    assert [e.id for e in client.get(reverse("core:audit_list"), older).context["page"]] == before


@pytest.mark.parametrize("position", ["junk", "20261399T000000.000000Z-5", "20260302T090000.000000Z-", "2"])
def test_a_malformed_position_shows_the_newest_page(owner, make_patient, client_for, position):
    make_patient()
    client = client_for(owner)
    newest = [e.id for e in client.get(reverse("core:audit_list")).context["page"]]
    for name in ("before", "after", "page"):
        page = client.get(reverse("core:audit_list"), {name: position}).context["page"]
        assert page.newest
        assert [e.id for e in page][-len(newest) :] == newest  # plus the page's own reads


def test_a_page_link_alone_still_reads_the_whole_trail(owner, make_patient, client_for):
    make_patient()
    response = client_for(owner).get(reverse("core:audit_list"), {"before": "20990101T000000.000000Z-1"})
    assert response.context["form"].is_bound is False
    assert "patient" in {e.record_type for e in response.context["page"]}
    assert AuditEvent.objects.filter(record_type="audit_event").latest("id").detail == "audit trail"


def _csv(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_export_streams_in_chunks_the_rows_the_pages_show_and_audits_itself(
    owner, therapist, client_for, monkeypatch, django_assert_num_queries
):
    patient_id = uuid.uuid4()
    entries = [(n // 3, "therapist" if n % 2 else "owner", AuditOutcome.ALLOWED) for n in range(25)]
    _events(patient_id, entries, {"owner": owner, "therapist": therapist})
    monkeypatch.setattr(access, "AUDIT_EXPORT_CHUNK", 4)
    client = client_for(owner)
    query = {"patient": str(patient_id), "user": str(therapist.public_id)}
    response = client.get(reverse("core:audit_export"), query)
    exported = AuditEvent.objects.filter(record_type="audit_event", action=AuditAction.EXPORT)
    assert list(exported.values_list("patient_id", "actor_username")) == [(patient_id, "owner")]
    # 12 rows by the therapist in chunks of 4: three full chunks and an empty one, and the
    # names of their patient (one query per batch of AUDIT_CSV_BATCH rows).
    with django_assert_num_queries(5):
        rows = _csv(response)
    shown = [
        e
        for page in _walk_older(owner, access.AuditFilters(patient_id=patient_id, actor=therapist), 5)
        for e in AuditEvent.objects.filter(pk__in=page).order_by("-at", "-id")
    ]
    assert len(rows) == 12
    assert [(r["record_id"], r["actor_username"], r["at"]) for r in rows] == [
        (e.record_id, e.actor_username, clock.local(e.at, clock.practice_zone()).isoformat()) for e in shown
    ]


def test_the_whole_trail_export_lists_its_own_export_first(owner, make_patient, client_for, monkeypatch):
    for _ in range(3):
        make_patient()
    monkeypatch.setattr(access, "AUDIT_EXPORT_CHUNK", 2)
    rows = _csv(client_for(owner).get(reverse("core:audit_export")))
    assert (rows[0]["record_type"], rows[0]["action"]) == ("audit_event", AuditAction.EXPORT)
    assert len(rows) == AuditEvent.objects.count()
    assert len({(r["at"], r["record_id"], r["action"]) for r in rows}) == len(rows)


def _fill(patient_id, therapist, count):
    _events(patient_id, [(n, "therapist", AuditOutcome.ALLOWED) for n in range(count)], {"therapist": therapist})


@pytest.mark.parametrize(
    ("query", "queries"),
    [
        ({}, 9),
        ({"patient": "P"}, 9),
        ({"user": "T", "outcome": "allowed"}, 9),
        ({"start": "2026-03-01", "end": "2026-03-03", "outcome": "denied"}, 8),  # no patient named
    ],
    ids=["trail", "access-report", "user-outcome", "dates-denied"],
)
def test_a_page_of_the_trail_makes_the_same_queries_with_ten_times_the_events(
    owner, therapist, client_for, django_assert_num_queries, query, queries
):
    patient_id = uuid.uuid4()
    values = {"P": str(patient_id), "T": str(therapist.public_id)}
    query = {k: values.get(v, v) for k, v in query.items()}
    client = client_for(owner)
    client.get(reverse("core:audit_list"))
    # session, user, demo flag, the staff (filter choices and names), the page, the names
    # of its patients, the insert of this read's audit event, the last seal and the last
    # verification (core/seals.py).
    _fill(patient_id, therapist, 60)
    older = client.get(reverse("core:audit_list"), query).context["page"].older
    for _size in (60, 600):
        for page in ({}, {"before": older} if older else {}):
            with django_assert_num_queries(queries):
                client.get(reverse("core:audit_list"), {**query, **page})
        _fill(patient_id, therapist, 540)


def test_the_owners_home_reads_lockouts_with_the_same_queries_with_ten_times_the_trail(
    owner, therapist, client_for, django_assert_num_queries
):
    client = client_for(owner)
    client.get(reverse("core:home"))
    for extra in (60, 600):
        _fill(uuid.uuid4(), therapist, extra)
        audit.record(None, AuditAction.LOCKOUT, "account", record_id=therapist.public_id, outcome="denied")
        with django_assert_num_queries(HOME_QUERIES):
            response = client.get(reverse("core:home"))
        assert response.context["lockouts"]


# session, user, demo flag, lockouts, unlocks, their accounts, the break-glass records;
# the practice's day (clinical/home.py, referrals/home.py): today's visits, the counts of
# unsigned notes and re-assessments due, reports due, authorizations running out.
HOME_QUERIES = 12


@pytest.mark.parametrize("role", ["therapist", "front_desk", "billing", "outsider"])
def test_others_are_refused_a_page_or_export_of_the_trail_at_any_position(role, personas, client_for):
    client = client_for(personas[role])
    for query in ({"before": "20260302T090000.000000Z-5"}, {"after": "20260302T090000.000000Z-5"}):
        assert client.get(reverse("core:audit_list"), query).status_code == 403
        assert client.get(reverse("core:audit_export"), query).status_code == 403


def test_the_trail_has_an_index_for_each_way_it_is_read(db):
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "core_auditevent")
    # core_audit_registered_by is a partial index on actor_id (patients registered by them).
    indexes = {
        tuple(info["columns"])
        for name, info in found.items()
        if info["index"] and not info["unique"] and name != "core_audit_registered_by"
    }
    assert {("at", "id"), ("patient_id", "at", "id"), ("actor_id", "at", "id"), ("record_id", "at", "id")} <= indexes
    # The plain ones they replace are gone (each costs every insert).
    assert not indexes & {("at",), ("actor_id",), ("patient_id",), ("patient_id", "at"), ("actor_id", "at")}


def test_the_seals_checks_read_events_in_keyset_chunks_every_one_once(owner, therapist, django_assert_num_queries):
    _fill(uuid.uuid4(), therapist, 7)
    expected = list(AuditEvent.objects.order_by("id").values_list("id", "at"))
    # 7 rows, 2 per query: three full chunks and the last one (no server-side cursor).
    with django_assert_num_queries(4):
        assert list(seals.in_order(AuditEvent.objects.all(), "id", 2, ("id", "at"))) == expected
    with django_assert_num_queries(4):
        assert [e.id for e in seals.in_order(AuditEvent.objects.all(), "id", 2)] == [i for i, _ in expected]


def test_verify_checks_a_trail_of_many_seals_read_in_chunks(owner, therapist, settings):
    settings.EFFLEURA_AUDIT_KEY = "k" * 64
    _fill(uuid.uuid4(), therapist, 30)
    total = AuditEvent.objects.count()
    assert seals.seal_pending(block_size=4) == total
    report = seals.verify(by="test")
    assert (report.ok, report.seals, report.sealed, report.unsealed) == (True, -(-total // 4), total, 0)
