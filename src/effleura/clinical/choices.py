from django.db import models


class EpisodeStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISCHARGED = "discharged", "Discharged"


class AssessmentKind(models.TextChoices):
    INITIAL = "initial", "Initial assessment"
    REPEAT = "repeat", "Re-assessment"


class RecordStatus(models.TextChoices):
    """Assessments and session notes: a draft only its author edits; signed is locked."""

    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


class Pressure(models.TextChoices):
    """PRODUCT.md's pressure scale (same keys as patients.choices.PressurePreference)."""

    LIGHT = "light", "Light"
    MODERATE = "moderate", "Moderate"
    FIRM = "firm", "Firm"
    DEEP = "deep", "Deep"


PRESSURE_ORDER = [Pressure.LIGHT, Pressure.MODERATE, Pressure.FIRM, Pressure.DEEP]


class ClientPosition(models.TextChoices):
    PRONE = "prone", "Prone"
    SUPINE = "supine", "Supine"
    SIDE_LYING_LEFT = "side_left", "Side-lying, left side down"
    SIDE_LYING_RIGHT = "side_right", "Side-lying, right side down"
    SEATED = "seated", "Seated"
    SEMI_RECLINED = "semi_reclined", "Semi-reclined (bed or chair)"


class BodyMark(models.TextChoices):
    """Symbols on the body chart."""

    PAIN = "pain", "Pain"
    TENSION = "tension", "Tension"
    TRIGGER_POINT = "trigger_point", "Trigger point"
    NUMBNESS = "numbness", "Numbness or tingling"
    TREATED = "treated", "Treated area"
    AVOID = "avoid", "Avoid"


class GoalStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    MET = "met", "Met"
    NOT_MET = "not_met", "Not met"
    DISCONTINUED = "discontinued", "Discontinued"


class GoalDirection(models.TextChoices):
    DECREASE = "decrease", "Lower is better (e.g. pain)"
    INCREASE = "increase", "Higher is better (e.g. range of motion)"


class PlanStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Replaced by a newer plan"
    CLOSED = "closed", "Closed at discharge"


class DischargeReason(models.TextChoices):
    GOALS_MET = "goals_met", "Goals met"
    PLATEAU = "plateau", "Progress has plateaued"
    PATIENT_CHOICE = "patient_choice", "Patient's choice"
    REFERRED_ON = "referred_on", "Referred to another provider"
    AUTHORIZATION_ENDED = "authorization_ended", "Authorization or funding ended"
    CONTRAINDICATED = "contraindicated", "Treatment now contraindicated"
    OTHER = "other", "Other"
