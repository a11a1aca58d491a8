"""The synthetic demo clinic that `effleura demo` loads.

Six staff (one per role, three therapists) who share DEMO_PASSWORD, and 60 patients
with health histories and consents. Every person is made up: names are drawn from
short lists, phone numbers are in the fictional 555-01xx range, email addresses are at
example.com/.org/.net, and the town is "Anytown". A fixed seed makes every installation
get the same 60 patients, so guides and browser tests can name them.

The consent wording and the pools of names are data (demo/data.yaml); the patients'
health-history stories are demo/scenarios.yaml.

Everything is written through the same check_*/do_* actions the screens use, acting as
the member of staff who would do it, so the demo fills the audit trail like real use.
The whole load is one transaction: it happens completely or not at all.
"""

import datetime
import random
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from effleura.core import actions as core_actions
from effleura.core import clock
from effleura.core.choices import Role
from effleura.core.models import User
from effleura.demo.billing import load_billing_ledger_demo, load_billing_setup_demo
from effleura.demo.clinical import load_clinical_demo
from effleura.demo.referrals import load_referrals_demo
from effleura.demo.scenarios import COMMON, SPECIAL, Scenario, history_versions
from effleura.demo.scheduling import TZ_NAME, load_scheduling_demo
from effleura.patients import actions
from effleura.patients.choices import ConsentKind, ConsentState, PatientStatus
from effleura.patients.models import Patient

# At least 12 characters, not common, not repetitive: it passes the same
# validators as a real password. It is published here, so never load the demo on a
# server that holds real patient data (`effleura demo` refuses to).
DEMO_PASSWORD = "demo-clinic-2026"  # noqa: S105 (published on purpose: demo accounts only)
DEMO_SEED = 2026
DEMO_TIME_ZONE = TZ_NAME  # the practice's, as its locations' (scheduling.yaml)
PATIENT_COUNT = 60
REFERENCE_YEAR = 2026  # birth years count back from here, so ages never drift between installs
URL = "http://127.0.0.1:8000/"


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    credentials: str
    role: str


STAFF = [
    DemoStaff("owner", "Morgan", "Ellery", "LMT, CLT", Role.OWNER),
    DemoStaff("therapist", "Jordan", "Reyes", "LMT", Role.THERAPIST),
    DemoStaff("therapist2", "Priya", "Natarajan", "LMT, CLT", Role.THERAPIST),
    DemoStaff("therapist3", "Sam", "Okafor", "CMT", Role.THERAPIST),
    DemoStaff("frontdesk", "Casey", "Brooks", "", Role.FRONT_DESK),
    DemoStaff("billing", "Robin", "Hale", "", Role.BILLING),
]


class RealDataPresent(Exception):
    """The database holds accounts or patients that are not part of the demo."""


@dataclass(frozen=True)
class LoadResult:
    created: bool  # False when the demo was already there and nothing was written
    staff: int
    patients: int


# Consent wording, names and contact details (synthetic): demo/data.yaml ----------------


def _read_data(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


_DATA = _read_data(Path(__file__).with_name("data.yaml"))
_CONSENTS = _DATA["consents"]
TREATMENT_TITLE = _CONSENTS["treatment"]["title"]
PRIVACY_TITLE = _CONSENTS["privacy"]["title"]
# Each version is a list of paragraphs in the file.
TREATMENT_V1, TREATMENT_V2 = ("\n\n".join(v) for v in _CONSENTS["treatment"]["versions"])
(PRIVACY_V1,) = ("\n\n".join(v) for v in _CONSENTS["privacy"]["versions"])

FEMALE_FIRST = _DATA["names"]["female_first"]
MALE_FIRST = _DATA["names"]["male_first"]
NEUTRAL_FIRST = _DATA["names"]["neutral_first"]
LAST_NAMES = _DATA["names"]["last"]
NICKNAMES = _DATA["names"]["nicknames"]
STREETS = _DATA["streets"]
# (relationship, whose first names fit it)
RELATIONSHIPS = [tuple(r) for r in _DATA["relationships"]]
PARENTS_AND_SIBLINGS = [tuple(r) for r in _DATA["parents_and_siblings"]]
ADULT_CHILDREN = [tuple(r) for r in _DATA["adult_children"]]
EMAIL_DOMAINS = _DATA["email_domains"]

PATIENTS_WITHOUT_HISTORY = 8  # registered, intake not done yet


# Building the plan -----------------------------------------------------------------------


# How a patient ends up with the treatment consent (the four ConsentStates, and one path).
CURRENT, OUTDATED, WITHDRAWN, MISSING = (
    ConsentState.CURRENT, ConsentState.OUTDATED, ConsentState.WITHDRAWN, ConsentState.MISSING
)  # fmt: skip
RESIGNED = "resigned"  # signed version 1, then version 2: current, with a history


@dataclass
class PlannedPatient:
    data: dict  # fields for check_create_patient
    scenario: Scenario | None
    treatment: str  # CURRENT, RESIGNED, OUTDATED, WITHDRAWN or MISSING
    privacy: bool  # signed the privacy notice
    therapist: str
    registered_by: str


def _age_date(rng: random.Random, age: int) -> datetime.date:
    return datetime.date(REFERENCE_YEAR - age, rng.randint(1, 12), rng.randint(1, 28))


def plan(seed: int = DEMO_SEED) -> list[PlannedPatient]:
    """The 60 demo patients: the same list for the same seed. Pure (no database)."""
    rng = random.Random(seed)
    common_count = PATIENT_COUNT - PATIENTS_WITHOUT_HISTORY - len(SPECIAL)
    scenarios = SPECIAL + [COMMON[i % len(COMMON)] for i in range(common_count)]
    scenarios += [None] * PATIENTS_WITHOUT_HISTORY
    rng.shuffle(scenarios)

    names_used: set = set()
    # Each surname at most twice, so a few patients look related and none is a crowd.
    surnames = LAST_NAMES * 2
    rng.shuffle(surnames)
    pools = {"female": list(FEMALE_FIRST), "male": list(MALE_FIRST), "neutral": list(NEUTRAL_FIRST)}
    for pool in pools.values():
        rng.shuffle(pool)
    drawn = dict.fromkeys(pools, 0)

    def first_name(kind: str) -> str:
        # Through the shuffled list, then round again: a second Grace gets another surname.
        name = pools[kind][drawn[kind] % len(pools[kind])]
        drawn[kind] += 1
        return name

    therapists = [s.username for s in STAFF if s.role in (Role.THERAPIST, Role.OWNER)]

    planned = []
    for i, scenario in enumerate(scenarios):
        sex = (scenario.sex if scenario else "") or rng.choices(["female", "male"], [6, 4])[0]
        neutral = not (scenario and scenario.sex) and rng.random() < 0.08
        first = first_name("neutral" if neutral else sex)
        last = next(name for name in surnames if (first, name) not in names_used)
        surnames.remove(last)
        names_used.add((first, last))
        low, high = scenario.ages if scenario else (20, 80)
        dob = _age_date(rng, rng.randint(low, high))
        pronouns = "they/them" if neutral else {"female": "she/her", "male": "he/him"}[sex]
        if rng.random() < 0.1:
            pronouns = ""  # not asked at registration
        email = ""
        if rng.random() < 0.85:
            email = f"{first}.{last}".lower().replace("'", "") + f"@{rng.choice(EMAIL_DOMAINS)}"
        contact = rng.choices(["phone", "text", "email", "post"], [4, 4, 3, 1])[0]
        if contact == "email" and not email:
            contact = "text"
        age = REFERENCE_YEAR - dob.year
        if age < 25:
            relationship, fits = rng.choice(PARENTS_AND_SIBLINGS)
        else:
            relationship, fits = rng.choice(RELATIONSHIPS + (ADULT_CHILDREN * 2 if age >= 50 else PARENTS_AND_SIBLINGS))
        names = {"female": FEMALE_FIRST, "male": MALE_FIRST}.get(fits, FEMALE_FIRST + MALE_FIRST)
        ec_first = rng.choice([n for n in names if n != first])
        ec_last = rng.choice(LAST_NAMES) if relationship in ("friend", "partner") else last
        data = {
            "legal_first_name": first,
            "legal_last_name": last,
            "preferred_name": NICKNAMES.get(first, "") if rng.random() < 0.7 else "",
            "pronouns": pronouns,
            "date_of_birth": dob,
            "sex_at_birth": sex,
            "gender_identity": "Non-binary" if neutral else "",
            "phone": f"(503) 555-01{i:02d}",
            "email": email,
            "preferred_contact": contact,
            "emergency_contact_name": f"{ec_first} {ec_last}",
            "emergency_contact_relationship": relationship,
            "emergency_contact_phone": f"(971) 555-01{(i * 7 + 3) % 100:02d}",
            "notes": "",
        }
        if rng.random() < 0.7:
            data |= {
                "address_line1": f"{rng.randint(10, 990)} {rng.choice(STREETS)}",
                "city": "Anytown",
                "region": "OR",
                "postal_code": "97000",
                "country": "United States",
            }
        planned.append(
            PlannedPatient(
                data=data,
                scenario=scenario,
                treatment=CURRENT,
                privacy=True,
                therapist=(scenario.therapist if scenario and scenario.therapist else therapists[i % len(therapists)]),
                registered_by=rng.choices(["frontdesk", "owner", "therapist"], [8, 1, 1])[0],
            )
        )
    _assign_statuses_and_consents(planned, rng)
    return planned


def _assign_statuses_and_consents(planned: list[PlannedPatient], rng: random.Random) -> None:
    """Mostly active patients with current consents; a few of every other kind."""
    common_keys = {s.key for s in COMMON}
    new = [p for p in planned if p.scenario is None]
    everyday = [p for p in planned if p.scenario is not None and p.scenario.key in common_keys]
    special = [p for p in planned if p.scenario is not None and p.scenario.key not in common_keys]
    rng.shuffle(everyday)
    # Registered but not seen yet: most have signed nothing; the last one signed online.
    for p in new[:7]:
        p.treatment, p.privacy = MISSING, False
    for p in new[5:7]:
        p.data["status"] = PatientStatus.INACTIVE
        p.data["notes"] = "Registered by phone; did not book a first visit."
    # Stopped coming before the consent wording changed.
    for p in everyday[:6]:
        p.data["status"] = PatientStatus.INACTIVE
        p.treatment = OUTDATED
    for p in everyday[6:9]:
        p.data["status"] = PatientStatus.DISCHARGED
        p.data["notes"] = "Goals met; discharged with a home-care plan."
        p.treatment = OUTDATED
    # Still coming, but has not signed the new wording yet.
    for p in everyday[9:12]:
        p.treatment = OUTDATED
    for p in everyday[12:20]:
        p.treatment = RESIGNED
    everyday[20].treatment = WITHDRAWN
    everyday[21].privacy = False
    special[0].data["notes"] = "Prefers afternoon appointments."
    special[1].data["notes"] = "Uses a walker; book the ground-floor room."


# Loading -------------------------------------------------------------------------------


def demo_loaded() -> bool:
    return User.objects.filter(is_demo=True, username=STAFF[0].username).exists()


def real_data_present() -> bool:
    return User.objects.filter(is_demo=False).exists() or Patient.objects.filter(is_demo=False).exists()


def load_demo(seed: int = DEMO_SEED) -> LoadResult:
    """Load the demo clinic once. Does nothing if it is already loaded; refuses (raises
    RealDataPresent) if the database holds any non-demo account or patient."""
    with transaction.atomic():
        if demo_loaded():
            return LoadResult(
                created=False,
                staff=User.objects.filter(is_demo=True).count(),
                patients=Patient.objects.filter(is_demo=True).count(),
            )
        if real_data_present():
            raise RealDataPresent(
                "This database already holds accounts or patients that are not part of the demo; "
                "the demo clinic is only loaded into an empty database."
            )
        staff = _create_staff()
        _create_practice(staff["owner"])
        # "Today" and every date below are the practice's, as the pages will show them.
        with clock.in_practice_zone():
            documents = _create_consent_documents(staff["owner"])
            _create_patients(staff, documents, plan(seed), timezone.localdate())
            load_scheduling_demo(staff, list(Patient.objects.filter(is_demo=True).order_by("pk")))
            # Before the notes are signed: their charges need payers, prices and packages.
            load_billing_setup_demo(staff, list(Patient.objects.filter(is_demo=True).order_by("pk")))
            load_clinical_demo(staff, list(Patient.objects.filter(is_demo=True).order_by("pk")))
            load_referrals_demo(staff, list(Patient.objects.filter(is_demo=True).order_by("pk")))
            load_billing_ledger_demo(staff, list(Patient.objects.filter(is_demo=True).order_by("pk")))
    return LoadResult(created=True, staff=len(staff), patients=PATIENT_COUNT)


def _create_staff() -> dict[str, User]:
    validate_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for member in STAFF:
        fields = {
            "username": member.username,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "credentials": member.credentials,
            "email": f"{member.username}@example.com",
            "role": member.role,
            "is_active": True,
            "is_demo": True,
        }
        # The first owner has nobody to create them: the command line does (audited
        # with no actor and the client address "cli"). The owner creates the rest.
        actor = users.get("owner") or AnonymousUser()
        if "owner" in users:
            core_actions.check_save_staff(actor, username=member.username, password=DEMO_PASSWORD)
        users[member.username] = core_actions.do_save_staff(actor, user=None, fields=fields, password=DEMO_PASSWORD)
    return users


def _create_practice(owner: User) -> None:
    clean = core_actions.check_save_practice(
        owner,
        {
            "name": "Anytown Clinical Massage (demo)",
            "address_line1": "100 Example Street, Suite 2",
            "city": "Anytown",
            "region": "OR",
            "postal_code": "97000",
            "country": "United States",
            "phone": "(503) 555-0100",
            "fax": "(503) 555-0101",
            "email": "front@example.com",
            # The demo's own zone, that of its locations (not EFFLEURA_TIME_ZONE): signatures,
            # the audit trail and "today" read the same clock as the calendar.
            "time_zone": DEMO_TIME_ZONE,
        },
    )
    core_actions.do_save_practice(owner, clean, is_demo=True)


def _create_consent_documents(owner: User) -> dict:
    documents = {}
    for key, title, kind, body in (
        ("treatment", TREATMENT_TITLE, ConsentKind.TREATMENT, TREATMENT_V1),
        ("privacy", PRIVACY_TITLE, ConsentKind.PRIVACY, PRIVACY_V1),
    ):
        actions.check_save_consent_document(owner, title=title, kind=kind, body=body)
        documents[key] = actions.do_create_consent_document(owner, title=title, kind=kind, required=True, body=body)
    return documents


def _latest_version(document):
    return document.versions.order_by("-version").first()


def _sign(actor, patient, document, typed_name: str):
    version = _latest_version(document)
    typed_name = actions.check_capture_consent(actor, patient, version, typed_name, True)
    return actions.do_capture_consent(actor, patient, version, typed_name)


def _create_patients(staff: dict, documents: dict, planned: list[PlannedPatient], today) -> None:
    """Register, take histories, collect signatures, then publish the new consent wording
    and carry on, in the order a clinic would live it."""
    patients, versions = [], []
    for p in planned:
        registrar = staff[p.registered_by]
        clean = actions.check_create_patient(registrar, p.data)
        patient = actions.do_create_patient(registrar, clean, is_demo=True)
        patients.append(patient)
        versions.append(history_versions(p.scenario, today) if p.scenario else [])

    def add_history(p: PlannedPatient, patient, data: dict) -> None:
        therapist = staff[p.therapist]
        clean = actions.check_add_health_history(therapist, patient, data)
        actions.do_add_health_history(therapist, patient, clean)

    # Before the treatment consent's second version: first intakes and signatures.
    for p, patient, chain in zip(planned, patients, versions, strict=True):
        if chain:
            add_history(p, patient, chain[0])
        desk = staff["frontdesk"]
        if p.privacy:
            _sign(desk, patient, documents["privacy"], patient.legal_name)
        if p.treatment in (OUTDATED, RESIGNED):
            _sign(desk, patient, documents["treatment"], patient.legal_name)

    owner = staff["owner"]
    actions.check_save_consent_document(owner, title="", kind="", body=TREATMENT_V2, document=documents["treatment"])
    actions.do_publish_consent_version(owner, documents["treatment"], TREATMENT_V2)

    # Afterwards: updated histories, signatures on the new wording, one withdrawal.
    for p, patient, chain in zip(planned, patients, versions, strict=True):
        for data in chain[1:]:
            add_history(p, patient, data)
        if p.treatment in (CURRENT, RESIGNED, WITHDRAWN):
            signer = staff[p.therapist] if p.treatment == RESIGNED else staff["frontdesk"]
            consent = _sign(signer, patient, documents["treatment"], patient.legal_name)
            if p.treatment == WITHDRAWN:
                therapist = staff[p.therapist]
                reason = actions.check_withdraw_consent(
                    therapist, consent, "Patient's request: wants to pause treatment for now."
                )
                actions.do_withdraw_consent(therapist, consent, reason)
