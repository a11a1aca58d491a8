"""Hand-over mode: the device is handed to a patient, locked to a few screens.

A member of staff opens screens meant for the patient (signing a consent, filling in the
intake form) and hands the tablet over. Until they take it back, the session may only
open those screens, for that one patient: ``HandoverMiddleware`` (core/middleware.py)
sends every other address, including the chart and the back button, to the "Give the
device back to staff" page (``core:handover_end``), where leaving needs the same staff
member's password again.

The state is one session key, ``handover``, so any app can start it for its own screens:

    {"patient": "<patient public id>", "urls": ["patients:consent_capture", ...],
     "landing": "/patients/<id>/hand-over/", "user": <staff user pk>,
     "started_at": "<ISO time>", "failures": 0}

A URL name in ``urls`` is allowed when its ``patient_id`` argument, if it has one, is the
hand-over's patient. Starting and ending are audited against the patient; a wrong
password is audited as a failed sign-in, and after ``MAX_FAILURES`` of them the session is
signed out altogether (the device is no longer trusted with the staff member's session).

Passkeys (the security issue) will be a second way to end the hand-over: a view that
verifies the passkey assertion for ``request.user`` and then calls ``end()``, like the
password form does; ``reauthenticate_with_password`` is the password half.
"""

from django.contrib.auth import authenticate
from django.utils import timezone

from effleura.core import audit
from effleura.core.choices import AuditAction, AuditOutcome

SESSION_KEY = "handover"
END_URL_NAME = "core:handover_end"
MAX_FAILURES = 5


def current(request) -> dict | None:
    """The hand-over state of this request's session, or None."""
    session = getattr(request, "session", None)
    return session.get(SESSION_KEY) if session is not None else None


def start(request, *, patient_id, url_names, landing: str) -> None:
    """Put the session into hand-over mode for ``patient_id``: only ``url_names`` (for this
    patient) and the end page may be opened; a redirect elsewhere goes to ``landing``.
    The caller has authorized the screens. Audited against the patient."""
    request.session[SESSION_KEY] = {
        "patient": str(patient_id),
        "urls": sorted(set(url_names)),
        "landing": landing,
        "user": request.user.pk,
        "started_at": timezone.now().isoformat(),
        "failures": 0,
    }
    audit.record(
        request.user, AuditAction.UPDATE, "handover", record_id=patient_id, patient_id=patient_id, detail="started"
    )


def allows(state: dict, view_name: str, view_kwargs: dict) -> bool:
    """Whether the hand-over ``state`` lets the patient open this URL."""
    if view_name == END_URL_NAME:
        return True
    if view_name not in state.get("urls", ()):
        return False
    patient_id = view_kwargs.get("patient_id")
    return patient_id is None or str(patient_id) == state.get("patient")


def end(request) -> str | None:
    """Leave hand-over mode (the staff member has authenticated again). Audited against the
    patient. Returns the patient's public id, or None when no hand-over was on."""
    state = request.session.pop(SESSION_KEY, None)
    if state is None:
        return None
    request.session.cycle_key()  # a fresh session id once staff has the device back
    audit.record(
        request.user,
        AuditAction.UPDATE,
        "handover",
        record_id=state["patient"],
        patient_id=state["patient"],
        detail="ended, staff signed in again",
    )
    return state["patient"]


def reauthenticate_with_password(request, password: str) -> bool:
    """Whether ``password`` is the signed-in staff member's own. A wrong one is audited as a
    failed sign-in and counted in the hand-over; returns False."""
    user = authenticate(request, username=request.user.get_username(), password=password or "")
    if user is not None and user.pk == request.user.pk:
        return True
    state = current(request)
    if state is not None:
        state["failures"] = state.get("failures", 0) + 1
        request.session.modified = True
    audit.record(
        request.user,
        AuditAction.LOGIN,
        "session",
        patient_id=state["patient"] if state else None,
        outcome=AuditOutcome.DENIED,
        detail="failed sign-in (hand-over)",
    )
    return False


def too_many_failures(request) -> bool:
    state = current(request)
    return state is not None and state.get("failures", 0) >= MAX_FAILURES
