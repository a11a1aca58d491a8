"""Treatment plans and their goals; "schedule this plan".

A plan says what the therapist intends for an episode: ICD-10-CM diagnosis codes,
measurable goals, planned techniques and modalities, a pressure range, frequency and
duration (twice a week for four weeks = 8 visits), session length, home care and the
re-assessment date. A changed plan is a new row: the plan in force becomes superseded
and stays readable, so notes and reports can always say which plan applied.

Screening warns, it does not block: a planned technique that the patient's current
conditions rule out or restrict comes back as a warning with the knowledge base's verdict
and flags (clinical/screening.py); the therapist decides. The session note is where
charting a ruled-out technique needs an explicit override.

"Schedule this plan" books the plan's visits as one series through the scheduling engine
and links the series to the plan: clinical/plan_scheduling.py.

check_*() validates and authorizes (ValidationError in clinic words; a dict of field ->
message, goal fields as "goals.<n>.<field>" counted from 0); do_*() writes inside a
transaction with its audit event.
"""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from effleura.clinical import knowledge, scoring, screening
from effleura.clinical.access import current_conditions
from effleura.clinical.choices import PRESSURE_ORDER, GoalDirection, GoalStatus, PlanStatus, Pressure
from effleura.clinical.episodes import require_open
from effleura.clinical.models import Episode, Goal, TreatmentPlan
from effleura.core import audit, versions
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.values import parse_date, reject_unknown

MAX_CODES = 12  # a claim form carries at most 12 diagnosis codes
MAX_GOALS = 10
MAX_KEYS = 30
HOME_CARE_MAX = 4000
DESCRIPTION_MAX = Goal._meta.get_field("description").max_length
MAX_DEGREES = 200  # the knowledge base's plausible range of motion
PLAN_FIELDS = (
    "diagnosis_codes", "goals", "techniques", "modalities", "pressure_min", "pressure_max",
    "sessions_per_week", "weeks", "session_minutes", "home_care_summary", "reassess_on",
)  # fmt: skip
GOAL_FIELDS = ("description", "measure", "baseline", "target", "direction", "target_date", "status")
SIDES = ("left", "right")
MEASURE_NAMES = {spec.name.lower(): key for key, spec in scoring.SPECS.items()}
ROM_PATTERN = re.compile(r"^rom:([a-z0-9_]+):([a-z0-9_]+)(?::([a-z]+))?$")
# How often a plan says, and what a series needs: bounds of the model's validators.
BOUNDS = {"sessions_per_week": (1, 7), "weeks": (1, 52), "session_minutes": (5, 180)}
BOUND_WORDS = {
    "sessions_per_week": "sessions a week",
    "weeks": "weeks",
    "session_minutes": "minutes a session",
}


# Reading ---------------------------------------------------------------------------------


def current_plan(episode: Episode) -> TreatmentPlan | None:
    """The plan in force for ``episode`` (episode already accessed), or None: one query."""
    return (
        TreatmentPlan.objects.filter(episode=episode, status=PlanStatus.ACTIVE)
        .select_related("series")
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class TechniqueWarning:
    """A planned technique or modality that screening restricts for this patient."""

    technique: str
    label: str
    verdict: str  # "caution" | "local" | "contraindicated" (screening.verdict)
    flags: list = field(default_factory=list)  # the screening.Flag objects that concern it


def technique_warnings(conditions, keys) -> list[TechniqueWarning]:
    """A warning for each key in ``keys`` whose screening verdict is not "ok", most
    severe first. Pure: the knowledge base, no database."""
    flags = screening.screen(conditions)
    warnings = []
    for key in dict.fromkeys(keys):
        concerning = [f for f in flags if f.concerns(key)]
        if not concerning:
            continue
        answer = screening.verdict(conditions, key)
        warnings.append(TechniqueWarning(key, knowledge.label(key), answer, concerning))
    order = {v: n for n, v in enumerate(reversed(screening.VERDICTS))}
    return sorted(warnings, key=lambda w: order[w.verdict])


PRESSURE = "pressure"  # the TechniqueWarning.technique of a pressure warning
PRESSURE_RANK = {p: n for n, p in enumerate(PRESSURE_ORDER)}


def pressure_warnings(conditions, pressure_max: str) -> list[TechniqueWarning]:
    """One warning when the plan's firmest pressure is above what a precaution allows
    (anticoagulants, osteoporosis, cancer treatment, neuropathy …: the rules' max_pressure),
    naming every such rule. Pure: the knowledge base, no database."""
    if pressure_max not in PRESSURE_RANK:
        return []
    limiting = [
        f
        for f in screening.screen(conditions)
        if f.max_pressure and PRESSURE_RANK[pressure_max] > PRESSURE_RANK[f.max_pressure]
    ]
    if not limiting:
        return []
    label = f"Pressure up to {Pressure(pressure_max).label.lower()}"
    return [TechniqueWarning(PRESSURE, label, "caution", limiting)]


def plan_warnings(plan: TreatmentPlan, conditions) -> list[TechniqueWarning]:
    return [
        *technique_warnings(conditions, [*plan.techniques, *plan.modalities]),
        *pressure_warnings(conditions, plan.pressure_max),
    ]


def measure_label(key: str) -> str:
    """What a goal's measure key means to a person: "Oswestry Disability Index",
    "Cervical rotation (left), degrees", or "" when the therapist judges the goal."""
    if not key:
        return ""
    if key in scoring.SPECS:
        return scoring.SPECS[key].name
    found = ROM_PATTERN.match(key)
    if found:
        joint, movement, side = found.groups()
        movement_info = _rom(joint, movement)
        name = movement_info.label if movement_info else f"{joint} {movement}".replace("_", " ")
        return f"{name}{f' ({side})' if side else ''}, degrees"
    return key


def measure_direction(key: str) -> str | None:
    """The direction a measure improves in, when the measure decides it."""
    if key in scoring.SPECS:
        return GoalDirection.DECREASE if scoring.SPECS[key].direction == "lower_better" else GoalDirection.INCREASE
    if key.startswith("rom:"):
        return GoalDirection.INCREASE
    return None


def slug(text: str) -> str:
    """A knowledge-base joint or movement as it appears in a measure key:
    "cervical spine" -> "cervical_spine"."""
    return "_".join(text.lower().split())


def rom_measure_key(movement, side: str = "") -> str:
    """The goal measure key of a knowledge-base range of motion (knowledge.RomMovement):
    rom:cervical_spine:rotation:left."""
    key = f"rom:{slug(movement.joint)}:{slug(movement.movement)}"
    return f"{key}:{side}" if side else key


def parse_rom_measure(key: str):
    """(knowledge.RomMovement, side or "") for a rom:<joint>:<movement>[:<side>] key the
    knowledge base knows, else None."""
    found = ROM_PATTERN.match(key or "")
    if not found:
        return None
    joint, movement, side = found.groups()
    info = _rom(joint, movement)
    return (info, side or "") if info is not None else None


def _rom(joint: str, movement: str):
    for m in knowledge.rom_movements():
        if slug(m.joint) == joint and slug(m.movement) == movement:
            return m
    return None


# Validation ------------------------------------------------------------------------------


def _text(value, limit: int) -> str:
    return "" if value is None else str(value).strip()[: limit + 1]


def _int(value, name: str, errors: dict) -> int | None:
    low, high = BOUNDS[name]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if value in (None, ""):
        errors[name] = f"Give the number of {BOUND_WORDS[name]}."
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = f"Give a whole number of {BOUND_WORDS[name]} from {low} to {high}."
        return None
    return value


def _number(value, name: str, errors: dict) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[name] = "Give a number."
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[name] = "Give a number, e.g. 7 or 72.5."
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite
        errors[name] = "Give a number, e.g. 7 or 72.5."
        return None
    return number


def _as_list(value) -> list:
    """A list from a list, or from text separated by commas, semicolons or spaces."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,;\s]+", value) if v]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def clean_codes(value, errors: dict) -> list[str]:
    """ICD-10-CM codes, upper-cased and without repeats; each checked with the knowledge
    base (format, and not a code known to be retired such as M54.5)."""
    codes = []
    for raw in _as_list(value):
        if not isinstance(raw, str):
            errors["diagnosis_codes"] = "Give the diagnosis codes as text, e.g. M54.50."
            return []
        code = raw.strip().upper()
        if code and code not in codes:
            codes.append(code)
    if not codes:
        errors["diagnosis_codes"] = "Give at least one ICD-10-CM diagnosis code, e.g. M54.50 (low back pain)."
        return []
    if len(codes) > MAX_CODES:
        errors["diagnosis_codes"] = f"Give at most {MAX_CODES} diagnosis codes."
        return codes
    retired = knowledge.invalid_codes()
    problems = []
    for code in codes:
        if knowledge.is_valid_icd10(code):
            continue
        if code in retired:
            problems.append(f"{code} is not a valid ICD-10-CM code: {retired[code]}")
        else:
            problems.append(
                f"{code[:20]} is not an ICD-10-CM code (a letter, two characters, then a dot and up to four more, "
                "e.g. M54.50 or S16.1XXA)."
            )
    if problems:
        errors["diagnosis_codes"] = " ".join(p if p.endswith(".") else p + "." for p in problems)
    return codes


def _clean_keys(value, name: str, kinds: tuple[str, ...], what: str, errors: dict) -> list[str]:
    keys = []
    for raw in _as_list(value):
        if not isinstance(raw, str):
            errors[name] = f"Give the {what} as keys, e.g. swedish."
            return []
        if raw not in keys:
            keys.append(raw)
    if len(keys) > MAX_KEYS:
        errors[name] = f"Choose at most {MAX_KEYS} {what}."
        return keys
    known = {t.key for t in knowledge.all_techniques() if t.kind in kinds}
    unknown = [k for k in keys if k not in known]
    if unknown:
        listed = ", ".join(k[:40] for k in unknown[:5])
        errors[name] = f"Not one of the {what} of the knowledge base: {listed}."
    return keys


def _clean_measure(key: str, errors: dict, prefix: str) -> str:
    # Codes are lower case ("NDI" is ndi); a measure's own name is taken for its code too.
    key = key.strip().lower()
    key = MEASURE_NAMES.get(key, key)
    if not key or key in scoring.SPECS:
        return key
    found = ROM_PATTERN.match(key)
    if not found:
        errors[f"{prefix}.measure"] = (
            f"Name an outcome measure ({', '.join(scoring.SPECS)}), a range of motion as "
            "rom:<joint>:<movement>[:left|right] (e.g. rom:cervical_spine:rotation:left), or leave it empty."
        )
        return key
    joint, movement, side = found.groups()
    movement_info = _rom(joint, movement)
    if movement_info is None:
        errors[f"{prefix}.measure"] = f"{joint} {movement} is not a range of motion the knowledge base knows."
    elif side is not None and side not in SIDES:
        errors[f"{prefix}.measure"] = "The side of a range of motion is left or right."
    elif movement_info.sided and side is None:
        errors[f"{prefix}.measure"] = f"Say which side: {key}:left or {key}:right."
    elif not movement_info.sided and side is not None:
        errors[f"{prefix}.measure"] = f"{movement_info.label} has no side: write rom:{joint}:{movement}."
    return key


def _measure_range(key: str) -> tuple[float, float, str]:
    if key in scoring.SPECS:
        s = scoring.SPECS[key]
        return s.score_min, s.score_max, s.unit
    if key.startswith("rom:"):
        return 0, MAX_DEGREES, "°"
    return float("-inf"), float("inf"), ""


def clean_goal(data: dict, n: int, episode: Episode, errors: dict) -> dict:
    """One goal, validated. Errors are keyed "goals.<n>.<field>"."""
    prefix = f"goals.{n}"
    if not isinstance(data, dict):
        errors[prefix] = "Give each goal as a set of fields."
        return {}
    try:
        reject_unknown(data, GOAL_FIELDS)
    except ValidationError as exc:
        errors[prefix] = exc.messages[0]
        return {}
    description = " ".join(_text(data.get("description"), DESCRIPTION_MAX).split())
    if not description:
        errors[f"{prefix}.description"] = "Describe the goal, e.g. 'Pain from 7 to 3 when sitting'."
    elif len(description) > DESCRIPTION_MAX:
        errors[f"{prefix}.description"] = f"Keep the goal under {DESCRIPTION_MAX} characters."
    measure = data.get("measure") or ""
    if not isinstance(measure, str):
        errors[f"{prefix}.measure"] = "Name the measure as text."
        measure = ""
    measure = _clean_measure(measure[:60], errors, prefix)
    baseline = _number(data.get("baseline"), f"{prefix}.baseline", errors)
    target = _number(data.get("target"), f"{prefix}.target", errors)
    low, high, unit = _measure_range(measure)
    for name, value in (("baseline", baseline), ("target", target)):
        if value is not None and not low <= value <= high:
            errors[f"{prefix}.{name}"] = f"{measure_label(measure)} runs from {low:g} to {high:g}{unit}."
    if measure and target is None and f"{prefix}.target" not in errors:
        errors[f"{prefix}.target"] = f"Give the target for {measure_label(measure)}."
    decided = measure_direction(measure) if measure in scoring.SPECS else None
    direction = data.get("direction") or decided or measure_direction(measure) or GoalDirection.DECREASE
    if direction not in GoalDirection.values:
        errors[f"{prefix}.direction"] = "Say whether lower or higher is better."
        direction = GoalDirection.DECREASE
    elif decided and direction != decided:
        better = "lower" if decided == GoalDirection.DECREASE else "higher"
        errors[f"{prefix}.direction"] = f"For {measure_label(measure)} {better} is better."
        direction = decided
    if baseline is not None and target is not None and not any(k.startswith(prefix) for k in errors):
        if direction == GoalDirection.DECREASE and not target < baseline:
            errors[f"{prefix}.target"] = f"Lower is better here: the target must be below the baseline ({baseline:g})."
        elif direction == GoalDirection.INCREASE and not target > baseline:
            errors[f"{prefix}.target"] = f"Higher is better here: the target must be above the baseline ({baseline:g})."
    target_date = parse_date(data.get("target_date"), f"{prefix}.target_date", errors)
    if target_date is not None and target_date < episode.opened_on:
        errors[f"{prefix}.target_date"] = "The target date cannot be before the episode started."
    status = data.get("status") or GoalStatus.NOT_STARTED
    if status not in GoalStatus.values:
        errors[f"{prefix}.status"] = f"Choose one of: {', '.join(GoalStatus.labels)}."
    return {
        "description": description,
        "measure": measure,
        "baseline": baseline,
        "target": target,
        "direction": direction,
        "target_date": target_date,
        "status": status,
    }


def clean_plan(episode: Episode, data: dict) -> dict:
    """Validate a plan (no database beyond the knowledge base); raise ValidationError."""
    reject_unknown(data, PLAN_FIELDS)
    errors: dict[str, str] = {}
    clean: dict = {"diagnosis_codes": clean_codes(data.get("diagnosis_codes"), errors)}
    clean["techniques"] = _clean_keys(
        data.get("techniques"), "techniques", ("technique", "stroke"), "techniques and strokes", errors
    )
    if not clean["techniques"] and "techniques" not in errors:
        errors["techniques"] = "Choose at least one planned technique."
    clean["modalities"] = _clean_keys(data.get("modalities"), "modalities", ("modality",), "modalities", errors)
    for name, default in (("pressure_min", Pressure.LIGHT), ("pressure_max", Pressure.MODERATE)):
        value = data.get(name) or default
        if value not in Pressure.values:
            errors[name] = f"Choose one of: {', '.join(Pressure.labels)}."
            value = default
        clean[name] = value
    low, high = clean["pressure_min"], clean["pressure_max"]
    if PRESSURE_ORDER.index(low) > PRESSURE_ORDER.index(high) and not errors.keys() & {"pressure_min", "pressure_max"}:
        errors["pressure_max"] = "The deepest pressure cannot be lighter than the lightest."
    for name in BOUNDS:
        clean[name] = _int(data.get(name), name, errors)
    summary = _text(data.get("home_care_summary"), HOME_CARE_MAX)
    if len(summary) > HOME_CARE_MAX:
        errors["home_care_summary"] = f"Keep the home-care summary under {HOME_CARE_MAX} characters."
    clean["home_care_summary"] = summary
    clean["reassess_on"] = parse_date(data.get("reassess_on"), "reassess_on", errors)
    if clean["reassess_on"] is not None and clean["reassess_on"] < episode.opened_on:
        errors["reassess_on"] = "The re-assessment cannot be before the episode started."

    goals = data.get("goals") or []
    if not isinstance(goals, list | tuple):
        errors["goals"] = "Give the goals as a list."
        goals = []
    if len(goals) > MAX_GOALS:
        errors["goals"] = f"Keep to at most {MAX_GOALS} goals."
        goals = goals[:MAX_GOALS]
    clean["goals"] = [clean_goal(g, n, episode, errors) for n, g in enumerate(goals)]
    if not goals:
        errors["goals"] = "Give at least one measurable goal, e.g. pain (NPRS) from 7 to 3."
    elif not any(g and (g["measure"] or g["target"] is not None) for g in clean["goals"]) and "goals" not in errors:
        errors["goals"] = (
            "At least one goal must be measurable: name what is measured (e.g. NPRS, ODI, a range of motion) "
            "or give a target."
        )
    if errors:
        raise ValidationError(errors)
    return clean


# Creating and replacing ---------------------------------------------------------------------


def check_create_plan(actor, episode: Episode, data: dict) -> dict:
    """May ``actor`` write a plan for ``episode``, and is ``data`` sound? Returns the clean
    plan with ``warnings``: the planned techniques screening restricts for the patient's
    current health history (warnings, not refusals)."""
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=episode.public_id)
    require_open(episode, "plan more treatment")
    clean = clean_plan(episode, data)
    conditions = current_conditions(episode.patient)
    clean["warnings"] = [
        *technique_warnings(conditions, [*clean["techniques"], *clean["modalities"]]),
        *pressure_warnings(conditions, clean["pressure_max"]),
    ]
    return clean


def do_create_plan(actor, episode: Episode, clean: dict, *, based_on=None) -> TreatmentPlan:
    """Save the plan; the plan in force (if any) becomes superseded and stays readable.

    ``based_on`` is the version of the plan in force the new one was written from (0: there
    was none). If another plan was saved meanwhile, this one would silently replace what it
    changed, so it is refused (versions.StaleVersion carrying the plan now in force) and
    nothing is saved. None skips the check (an API client that sent no If-Match). The new
    plan's version is one more than the episode's latest."""
    with transaction.atomic():
        # Lock the episode: two plans saved at once must not both stay active, and a
        # plan must not land on an episode being discharged.
        locked = Episode.objects.select_for_update().get(pk=episode.pk)
        require_open(locked, "plan more treatment")
        in_force = TreatmentPlan.objects.filter(episode=episode, status=PlanStatus.ACTIVE).order_by("-version").first()
        if based_on is not None and based_on is not versions.ANY and based_on != (in_force.version if in_force else 0):
            if in_force is None:
                raise ValidationError("This plan was based on a plan that is not in force; reload the page.")
            raise versions.StaleVersion(in_force, based_on, "treatment plan")
        latest = TreatmentPlan.objects.filter(episode=episode).order_by("-version").values_list("version", flat=True)
        version = (latest.first() or 0) + 1
        replaced = [in_force.public_id] if in_force is not None else []
        TreatmentPlan.objects.filter(episode=episode, status=PlanStatus.ACTIVE).update(status=PlanStatus.SUPERSEDED)
        fields = {k: v for k, v in clean.items() if k not in ("goals", "warnings")}
        plan = TreatmentPlan.objects.create(
            episode=episode, status=PlanStatus.ACTIVE, created_by=actor, version=version, **fields
        )
        Goal.objects.bulk_create(Goal(plan=plan, **goal) for goal in clean["goals"])
        detail = f"plan with {len(clean['goals'])} goal(s), {plan.visits} visits"
        if replaced:
            detail += f"; supersedes {replaced[0]}"
        if clean.get("warnings"):
            # How many, never which technique or why: those are health details.
            detail += f"; {len(clean['warnings'])} screening warning(s)"
        audit.record(
            actor,
            AuditAction.CREATE,
            "treatment_plan",
            record_id=plan.public_id,
            patient_id=episode.patient.public_id,
            detail=detail,
        )
    return plan


def plan_initial(plan: TreatmentPlan | None) -> dict:
    """A new plan's starting values: a copy of the plan in force, goals included."""
    if plan is None:
        return {"pressure_min": Pressure.LIGHT, "pressure_max": Pressure.MODERATE, "goals": []}
    data = {name: getattr(plan, name) for name in PLAN_FIELDS if name != "goals"}
    data["goals"] = [{name: getattr(g, name) for name in GOAL_FIELDS} for g in plan.goals.all()]
    return data


# Goals ---------------------------------------------------------------------------------------


def check_update_goal(actor, goal: Goal, status) -> str:
    """May ``actor`` set the status of ``goal``? Only the goals of the plan in force of an
    open episode change; a superseded plan's goals stand as they were."""
    episode = goal.plan.episode
    authorize(actor, "clinical.write", patient_id=episode.patient.public_id, record_id=goal.public_id)
    if status not in GoalStatus.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(GoalStatus.labels)}."})
    require_open(episode, "work on new goals")
    if goal.plan.status != PlanStatus.ACTIVE:
        message = "This goal belongs to a plan that was replaced; update the current plan's goals."
        raise ValidationError({"status": message})
    return status


def do_update_goal(actor, goal: Goal, status: str, *, expected_version=None) -> Goal:
    """Set ``goal``'s status to ``status``, what check_update_goal() returned (call it first).
    In one transaction: locks the row, refuses (versions.StaleVersion) when ``expected_version``
    is not its version (someone set the status after the page was read), saves it one
    version more and audits the change from the old status to the new. Returns the goal."""
    with transaction.atomic():
        locked = Goal.objects.select_for_update().get(pk=goal.pk)
        versions.check_version(locked, expected_version, "goal")
        before = locked.status
        locked.status = status
        locked.save(update_fields=["status", *versions.bump(locked)])
        goal.status, goal.version = status, locked.version
        audit.record(
            actor,
            AuditAction.UPDATE,
            "goal",
            record_id=goal.public_id,
            patient_id=goal.plan.episode.patient.public_id,
            detail=f"goal status: {before} → {status}",
        )
    return goal
