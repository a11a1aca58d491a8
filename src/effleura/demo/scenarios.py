"""The demo patients' stories as their health histories tell them: one Scenario per
story, each a list of health-history versions, read from demo/scenarios.yaml.

demo/data.py gives the scenarios to its patients; demo/clinical.py and demo/billing.py
find each patient's scenario again from the first version of their history
(``scenario_of``), so the notes and the bills follow the story.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

import yaml

from effleura.patients.models import HealthHistory

# Health histories ------------------------------------------------------------------------
# Each scenario is a list of versions; each version after the first lists only what
# changed. "days_ago" in a surgery becomes a date relative to today, so a recent
# operation stays recent (and derives the recent_surgery condition) whenever it loads.


@dataclass(frozen=True)
class Scenario:
    key: str
    versions: list
    sex: str = ""  # "female" when the story needs it
    ages: tuple = (22, 78)
    therapist: str = ""  # username; the default spreads patients over the team


SCENARIOS_FILE = Path(__file__).with_name("scenarios.yaml")


def load_scenarios(path: Path = SCENARIOS_FILE) -> tuple[list[Scenario], list[Scenario]]:
    """The special and the common scenarios of scenarios.yaml, in the file's order."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)

    def scenario(entry: dict) -> Scenario:
        return Scenario(**{k: tuple(v) if k == "ages" else v for k, v in entry.items()})

    return [scenario(e) for e in doc["special"]], [scenario(e) for e in doc["common"]]


# Special: contraindications and precautions, each at least once. Common: everyday
# clinical massage, no contraindication.
SPECIAL, COMMON = load_scenarios()


def _resolve_days_ago(value, today: datetime.date):
    if isinstance(value, list):
        return [_resolve_days_ago(v, today) for v in value]
    if isinstance(value, dict) and "days_ago" in value:
        rest = {k: v for k, v in value.items() if k != "days_ago"}
        return rest | {"date": (today - datetime.timedelta(days=value["days_ago"])).isoformat()}
    return value


def history_versions(scenario: Scenario, today: datetime.date) -> list[dict]:
    """Each version of a scenario as the full health-history form (later ones build on earlier)."""
    versions, current = [], {}
    for change in scenario.versions:
        current = current | {k: _resolve_days_ago(v, today) for k, v in change.items()}
        versions.append(dict(current))
    return versions


def scenario_of(patients) -> dict[int, str]:
    """Each patient's scenario key by primary key, read from their first health history
    ("" for a history that follows no scenario)."""
    key_of = {s.versions[0]["presenting_complaint"]: s.key for s in SPECIAL + COMMON}
    first = HealthHistory.objects.filter(patient__in=patients, version=1)
    return {pk: key_of.get(text, "") for pk, text in first.values_list("patient_id", "presenting_complaint")}
