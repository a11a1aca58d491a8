"""Opening episodes of care.

An episode is one course of treatment for one problem, from the first assessment to
discharge (clinical/discharge.py closes it). A patient may have several; usually one is
open. check_open_episode() validates and authorizes; do_open_episode() writes inside a
transaction with its audit event.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from effleura.clinical.choices import EpisodeStatus
from effleura.clinical.models import Episode
from effleura.core import audit
from effleura.core.access import authorize
from effleura.core.choices import AuditAction
from effleura.core.permissions import CLINICAL
from effleura.core.values import parse_date, reject_unknown
from effleura.patients.models import Patient

TITLE_MAX = 150
# An episode may be recorded after the fact (a paper chart typed in), not weeks ahead.
MAX_DAYS_AHEAD = 7


def clinicians():
    """Active staff who may hold an episode: owners and therapists."""
    return get_user_model().objects.filter(is_active=True, role__in=CLINICAL).order_by("last_name", "first_name")


def _therapist(value, errors: dict):
    """A clinician from a user, a primary key or a public id; adds an error otherwise."""
    User = get_user_model()
    user = value
    if value in (None, ""):
        errors["therapist"] = "Choose the therapist responsible for this episode."
        return None
    if not isinstance(value, User):
        lookup = {"pk": value} if isinstance(value, int) else {"public_id": value}
        try:
            user = User.objects.filter(**lookup).first()
        except (ValueError, ValidationError):
            user = None
    if user is None or not user.is_active or user.role not in CLINICAL:
        errors["therapist"] = "Choose an active therapist or owner of the practice."
        return None
    return user


def check_open_episode(actor, patient: Patient, data: dict) -> dict:
    """May ``actor`` open an episode for ``patient``, and is ``data`` sound?

    ``data``: title (required), therapist (a clinician; default: the actor when a
    clinician), opened_on (a date, default today; not more than a week ahead)."""
    authorize(actor, "clinical.write", patient_id=patient.public_id, record_id=patient.public_id)
    reject_unknown(data, {"title", "therapist", "opened_on"})
    errors: dict[str, str] = {}
    title = " ".join(str(data.get("title") or "").split())
    if not title:
        errors["title"] = "Name the problem in a few words, e.g. 'Low back pain after a fall'."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters."
    therapist = data.get("therapist")
    if therapist in (None, "") and actor.role in CLINICAL:
        therapist = actor
    therapist = _therapist(therapist, errors)
    opened_on = parse_date(data.get("opened_on") or timezone.localdate(), "opened_on", errors)
    if opened_on is not None:
        if opened_on > timezone.localdate() + datetime.timedelta(days=MAX_DAYS_AHEAD):
            errors["opened_on"] = "An episode cannot start more than a week ahead."
        elif opened_on < patient.date_of_birth:
            errors["opened_on"] = "The episode cannot start before the patient was born."
    if errors:
        raise ValidationError(errors)
    return {"title": title, "therapist": therapist, "opened_on": opened_on}


def do_open_episode(actor, patient: Patient, clean: dict) -> Episode:
    """Open the episode ``clean`` describes (from check_open_episode)."""
    with transaction.atomic():
        episode = Episode.objects.create(
            patient=patient,
            title=clean["title"],
            therapist=clean["therapist"],
            opened_on=clean["opened_on"],
            status=EpisodeStatus.OPEN,
            created_by=actor,
        )
        audit.record(
            actor,
            AuditAction.CREATE,
            "episode",
            record_id=episode.public_id,
            patient_id=patient.public_id,
            detail="episode opened",
        )
    return episode


def require_open(episode: Episode, what: str = "change it") -> None:
    """Refuse a change to a discharged episode in plain words."""
    if episode.status != EpisodeStatus.OPEN:
        raise ValidationError(f"This episode was discharged; open a new episode to {what}.")
