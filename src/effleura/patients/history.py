"""Reading a health history as a person would, and what changed between two versions.

Pure: takes model instances (or anything with the same attributes), touches no database.
"""

import datetime
from dataclasses import dataclass

from effleura.patients.choices import BodyRegion, Condition, ImplantedDevice, PressurePreference

RECENT_SURGERY_DAYS = 42  # PRODUCT.md: "surgery in the last 6 weeks"
STIMULATING_DEVICES = {ImplantedDevice.PACEMAKER, ImplantedDevice.DEFIBRILLATOR, ImplantedDevice.NERVE_STIMULATOR}


def implied_conditions(history, today: datetime.date) -> list[str]:
    """Conditions the answers imply though not ticked, as of ``today``: a blood thinner
    among the medications, a pregnancy, a pacemaker-like device, surgery in the last six
    weeks. Computed when read, never stored, so a surgery stops counting as recent and a
    stopped blood thinner stops flagging without anyone unticking anything."""
    implied = []
    if any(m.get("blood_thinner") for m in history.medications):
        implied.append(Condition.ANTICOAGULANT)
    if history.pregnant:
        implied.append(Condition.PREGNANCY)
    if STIMULATING_DEVICES & set(history.implanted_devices):
        implied.append(Condition.PACEMAKER)
    for surgery in history.surgeries:
        when = surgery.get("date")
        if when and 0 <= (today - datetime.date.fromisoformat(when)).days <= RECENT_SURGERY_DAYS:
            implied.append(Condition.RECENT_SURGERY)
            break
    return [str(c) for c in implied if c not in history.conditions]


def condition_labels(keys) -> list[str]:
    names = dict(Condition.choices)
    return [names.get(k, k) for k in keys]


def screening_conditions(history, today: datetime.date) -> list[str]:
    """What screening must consider: the ticked conditions, then those the answers imply."""
    return [*history.conditions, *implied_conditions(history, today)]


def _labels(keys, choices) -> str:
    names = dict(choices.choices)
    return ", ".join(names.get(k, k) for k in keys) or "none"


def _medications(meds) -> str:
    if not meds:
        return "none"
    parts = []
    for m in meds:
        text = m.get("name", "")
        if m.get("dose"):
            text += f" {m['dose']}"
        if m.get("blood_thinner"):
            text += " (blood thinner)"
        parts.append(text)
    return "; ".join(parts)


def _surgeries(surgeries) -> str:
    if not surgeries:
        return "none"
    return "; ".join(f"{s.get('what', '')}{' (' + s['date'] + ')' if s.get('date') else ''}" for s in surgeries)


def _yes_no(value) -> str:
    return "yes" if value else "no"


# (label, how to read it off a version). The order is the order of the intake form.
FIELDS = [
    ("Presenting complaint", lambda h: h.presenting_complaint or "—"),
    ("Goals for care", lambda h: h.goals or "—"),
    ("Pain areas", lambda h: _labels(h.pain_areas, BodyRegion)),
    ("Conditions", lambda h: _labels(h.conditions, Condition)),
    ("Notes on conditions", lambda h: h.condition_notes or "—"),
    ("Medications", lambda h: _medications(h.medications)),
    ("Allergies", lambda h: h.allergies or "none"),
    ("Allergic to oils or lotions", lambda h: _yes_no(h.allergic_to_oils_or_lotions)),
    ("Surgeries", lambda h: _surgeries(h.surgeries)),
    (
        "Pregnant",
        lambda h: f"yes, {h.pregnancy_weeks} weeks" if h.pregnant and h.pregnancy_weeks else _yes_no(h.pregnant),
    ),
    ("Implanted devices", lambda h: _labels(h.implanted_devices, ImplantedDevice)),
    ("Notes on devices", lambda h: h.implanted_devices_notes or "—"),
    ("Recent illness or fever", lambda h: _yes_no(h.recent_illness_or_fever)),
    ("Notes on illness", lambda h: h.recent_illness_notes or "—"),
    ("Pressure preference", lambda h: dict(PressurePreference.choices).get(h.pressure_preference, "no preference")),
    ("Areas to avoid", lambda h: _labels(h.areas_to_avoid, BodyRegion)),
    ("Notes on areas to avoid", lambda h: h.areas_to_avoid_notes or "—"),
]


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def describe(history) -> list[tuple[str, str]]:
    """The version as (label, text) pairs."""
    return [(label, read(history)) for label, read in FIELDS]


def changes(previous, current) -> list[Change]:
    """What differs from ``previous`` to ``current`` (nothing when previous is None: a first
    version has nothing to compare with)."""
    if previous is None:
        return []
    return [Change(label, read(previous), read(current)) for label, read in FIELDS if read(previous) != read(current)]
