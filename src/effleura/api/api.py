"""The JSON API under /api/v1/ (django-ninja). Routers live in each app's api.py.

Who may call what is decided before any operation runs: ApiTokenMiddleware signs in
``Authorization: Bearer <token>`` callers and PermissionMiddleware applies the URL_RULES
of core/permissions.py (401 for anonymous callers, 403 audited for refused roles). The
operations' names (``url_name``) are the keys of that table.

The API's own auth below is a second, simpler gate: a token caller, or a signed-in
browser session. Session callers must pass Django's CSRF check on unsafe methods (send
the csrftoken cookie's value in X-CSRFToken), because ninja exempts its views from
CsrfViewMiddleware and leaves CSRF to the cookie auth. Token callers need no CSRF token:
a bearer token is never sent by a browser on its own.

Every error answers JSON ``{"detail": "<message>", "errors": {field: message}}``
(``errors`` only when fields are at fault), whatever raised it.
"""

import functools
import json
import logging
import traceback
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import SessionAuth
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from effleura.billing.api_accounts import router as billing_accounts_router
from effleura.billing.api_charges import router as billing_charges_router
from effleura.billing.api_insurance import router as billing_insurance_router
from effleura.billing.api_reports import router as billing_reports_router
from effleura.billing.api_setup import router as billing_setup_router
from effleura.clinical.api_assessments import router as assessments_router
from effleura.clinical.api_episodes import router as episodes_router
from effleura.clinical.api_measures import router as measures_router
from effleura.clinical.api_notes import router as notes_router
from effleura.core import request_size, versions
from effleura.core.confirmation import NeedsConfirmation
from effleura.patients.actions import DuplicatePatient
from effleura.patients.api import router as patients_router
from effleura.referrals.api_referrals import router as referrals_router
from effleura.referrals.api_reports import router as reports_router
from effleura.scheduling.api_appointments import router as appointments_router
from effleura.scheduling.api_availability import router as availability_router
from effleura.scheduling.api_setup import router as scheduling_setup_router
from effleura.scheduling.api_waitlist import router as waitlist_router
from effleura.scheduling.booking import BookingConflict

log = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# What any operation that takes a body may answer before it reads the body's fields.
BODY_ERRORS = {
    400: "The body could not be read: not valid JSON, or a broken multipart form.",
    413: "The body is larger than the practice allows (EFFLEURA_MAX_UPLOAD_MB).",
    415: "The body is not of a type the operation takes (JSON, or multipart for a file).",
}
MAX_FIELD_NAME = 100  # an unknown field's name is echoed back; keep a huge one short


# Authentication -------------------------------------------------------------------


class BearerToken(AuthBase):
    """``Authorization: Bearer <token>``; the token was checked by ApiTokenMiddleware."""

    openapi_type = "http"
    openapi_scheme = "bearer"
    openapi_description = "A personal API token: create one on your profile page, or with `effleura token create`."

    def __call__(self, request: HttpRequest):
        user = request.user
        if getattr(request, "api_token", None) is not None and user.is_authenticated:
            return user
        return None


class BrowserSession(SessionAuth):
    """A signed-in browser session, with Django's CSRF check on unsafe methods."""

    openapi_description = "The session cookie of a signed-in user; unsafe methods need X-CSRFToken."

    def _get_key(self, request: HttpRequest):
        if check_csrf(request):
            # The cookie is __Host-csrftoken in HTTPS mode (docs/security.md).
            cookie = settings.CSRF_COOKIE_NAME
            raise HttpError(403, f"CSRF check failed: send the {cookie} cookie's value in the X-CSRFToken header.")
        return request.COOKIES.get(self.param_name)


class EffleuraAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        # The answers _json_edges gives before any operation runs are documented here,
        # where they are made, for every operation that takes a body.
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for item in schema["paths"].values():
            for operation in item.values():
                if "requestBody" not in operation:
                    continue
                for status, description in BODY_ERRORS.items():
                    operation["responses"].setdefault(status, {"description": description, "content": error})
        return schema

    def _get_urls(self):
        # Ninja answers 405 in plain text and reads any body as JSON whatever its type;
        # wrap every operation's view so those answers are JSON too.
        urls = super()._get_urls()
        for pattern in urls:
            pattern.callback = _json_edges(pattern.callback, self)
        return urls


# url_name of each operation that receives a file as multipart/form-data.
FILE_OPERATIONS = frozenset({"referral_original"})


def _json_edges(view, api: NinjaAPI):
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        # The operations that take a file (a referral's scanned original) accept multipart,
        # read by ninja's File parameters; reading request.body here would also apply
        # Django's in-memory size limit to a file that is allowed to be larger. Every other
        # operation takes JSON only.
        takes_file = (
            request.content_type == "multipart/form-data"
            and request.resolver_match is not None
            and request.resolver_match.url_name in FILE_OPERATIONS
        )
        if request.method in BODY_METHODS and not takes_file:
            try:
                has_body = bool(request.body)
            except RequestDataTooBig as exc:
                return _error(api, request, 413, request_size.message_for(exc))
            if has_body and not _is_json(request.content_type):
                return _error(api, request, 415, "Send the body as JSON, with Content-Type: application/json.")
        response = view(request, *args, **kwargs)
        _add_etag(response)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = _error(
                api, request, 405, f"This address does not answer {request.method}; it answers {allowed}."
            )
            response["Allow"] = allowed
        return response

    return wrapper


# Answers longer than this are lists or reports, never one record: not worth parsing.
LONGEST_RECORD = 256 * 1024


def _add_etag(response: HttpResponse) -> None:
    """A single record's answer (a JSON object with an ``id`` and an integer ``version``,
    from a GET or a write) carries ``ETag: "<version>"``, what a client sends back in
    If-Match. One place, so no operation can forget it."""
    if response.status_code not in (200, 201) or response.has_header("ETag"):
        return
    if not response.get("Content-Type", "").startswith("application/json") or getattr(response, "streaming", False):
        return
    content = response.content
    if len(content) > LONGEST_RECORD or not content.startswith(b"{") or b'"version"' not in content:
        return
    try:
        body = json.loads(content)
    except ValueError:
        return
    if isinstance(body, dict) and "id" in body and type(body.get("version")) is int:
        response["ETag"] = versions.etag(body["version"])


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


class ExactNumbers(Parser):
    """JSON bodies with every number read from its literal text: 95.1 becomes Decimal("95.1"),
    never the float 95.09999…, so an amount is exact (core.api_schemas.Amount) and 1e30 is a
    number to refuse in words, not a float that overflows a column. Whole numbers stay ints;
    a float field (a pain score) takes the Decimal as pydantic converts it."""

    def parse_body(self, request: HttpRequest):
        return json.loads(request.body, parse_float=Decimal, parse_int=int)


api = EffleuraAPI(
    parser=ExactNumbers(),
    title="Effleura API",
    version="1",
    urls_namespace="api",
    description="Clinical massage practice records. Authenticate with a personal token: "
    "`Authorization: Bearer <token>` (create one on your profile page). "
    "Every error answers `{detail, errors}`: a message, and what is wrong with each field.",
    auth=[BearerToken(), BrowserSession()],
)
api.add_router("/", patients_router)
api.add_router("/", episodes_router)
api.add_router("/", assessments_router)
api.add_router("/", notes_router)
api.add_router("/", measures_router)
api.add_router("/", referrals_router)
api.add_router("/", reports_router)
api.add_router("/", scheduling_setup_router)
api.add_router("/", availability_router)
api.add_router("/", appointments_router)
api.add_router("/", waitlist_router)
api.add_router("/", billing_setup_router)
api.add_router("/", billing_charges_router)
api.add_router("/", billing_accounts_router)
api.add_router("/", billing_insurance_router)
api.add_router("/", billing_reports_router)


# Errors ------------------------------------------------------------------------------


def _error(api: NinjaAPI, request, status: int, detail: str, errors: dict | None = None, **extra) -> HttpResponse:
    body = {"detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return api.create_response(request, body, status=status)


def _summary(errors: dict[str, str]) -> str:
    if len(errors) == 1:
        field, message = next(iter(errors.items()))
        return message if field in ("body", "__all__") else f"{field}: {message}"
    return "These fields need attention: " + ", ".join(errors) + "."


@api.exception_handler(DuplicatePatient)
def _duplicate(request, exc: DuplicatePatient):
    duplicates = [{"id": str(p.public_id), "chart_number": p.chart_number} for p in exc.duplicates]
    return _error(api, request, 409, exc.messages[0], duplicates=duplicates)


@api.exception_handler(BookingConflict)
def _conflict(request, exc: BookingConflict):
    # The message names who or what is taken and when; never another patient.
    return _error(api, request, 409, exc.messages[0])


@api.exception_handler(NeedsConfirmation)
def _needs_confirmation(request, exc: NeedsConfirmation):
    # A warning to confirm (e.g. no referral visits left, a visit already paid in full): the
    # caller sends confirm_warnings true to go ahead. Every operation answers it the same way.
    return _error(api, request, 409, exc.messages[0], warnings=exc.warnings)


@api.exception_handler(versions.StaleVersion)
def _stale(request, exc: versions.StaleVersion):
    # Before DjangoValidationError: StaleVersion is one, but it is a precondition failure.
    response = _error(
        api,
        request,
        412,
        f"{exc.messages[0]} Read it again (GET) and send its ETag in If-Match.",
        version=exc.version,
    )
    response["ETag"] = versions.etag(exc.version)
    return response


@api.exception_handler(versions.PreconditionFailed)
def _precondition(request, exc: versions.PreconditionFailed):
    return _error(api, request, 412, exc.detail)


@api.exception_handler(DjangoValidationError)
def _invalid(request, exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        errors = {field: " ".join(messages) for field, messages in exc.message_dict.items()}
        return _error(api, request, 422, _summary(errors), errors)
    return _error(api, request, 422, " ".join(exc.messages))


@api.exception_handler(PermissionDenied)
def _denied(request, exc: PermissionDenied):
    return _error(api, request, 403, str(exc) or "Your role does not allow this.")


@api.exception_handler(Http404)
def _not_found(request, exc: Http404):
    return _error(api, request, 404, str(exc) or "Not found.")


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc: AuthenticationError):
    return _error(api, request, 401, "Sign in first: send 'Authorization: Bearer <token>'.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return _error(api, request, 400, "The request body is not valid JSON.")
    return _error(api, request, exc.status_code, str(exc))


@api.exception_handler(SuspiciousOperation)
def _suspicious(request, exc: SuspiciousOperation):
    if isinstance(exc, RequestDataTooBig):
        return _error(api, request, 413, request_size.message_for(exc))
    return _error(api, request, 400, "The request could not be read.")


@api.exception_handler(MultiPartParserError)
def _unreadable_upload(request, exc: MultiPartParserError):
    # A multipart body without its boundary, or cut short: there is no form to read.
    return _error(
        api,
        request,
        400,
        "The upload could not be read: send it as multipart/form-data, with the boundary "
        "in the Content-Type header (an HTTP client's file upload does this).",
    )


@api.exception_handler(NinjaValidationError)
def _unreadable(request, exc: NinjaValidationError):
    errors: dict[str, str] = {}
    for error in exc.errors:
        field = _field_name(error.get("loc", ()))
        errors.setdefault(field, _message(error))
    return _error(api, request, 422, _summary(errors), errors)


@api.exception_handler(Exception)
def _unexpected(request, exc: Exception):
    # The exception's message may quote patient data (a database error repeats the
    # values), so the log gets its type and where it happened, never its text.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("Unexpected %s in %s %s\n%s", type(exc).__name__, request.method, request.path, frames)
    return _error(api, request, 500, "Something went wrong on our side; it has been logged.")


def _field_name(loc) -> str:
    """("body", "payload", "medications", 0, "name") -> "medications.0.name"."""
    source, *parts = loc or ("body",)
    if source == "body":
        parts = parts[1:]  # the operation's parameter name, not the client's field
    name = ".".join(str(p) for p in parts) or "body"
    return name[:MAX_FIELD_NAME]


def _message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return (
            "Send a JSON object in the request body."
            if _field_name(error.get("loc")) == "body"
            else "This is required."
        )
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "Give a JSON object."
    template = _MESSAGES.get(kind, "{msg}")
    try:
        return template.format(msg=error.get("msg", "Not valid."), **ctx)
    except (KeyError, IndexError):  # a pydantic release that names its context differently
        return str(error.get("msg", "Not valid."))


# pydantic error types -> what a person reads. {msg} is pydantic's own wording.
_MESSAGES = {
    "extra_forbidden": "This field is not known.",
    "string_type": "Give text (a JSON string).",
    "string_too_long": "Keep this under {max_length} characters.",
    "string_too_short": "This is too short.",
    "bool_type": "Give true or false.",
    "bool_parsing": "Give true or false.",
    "int_type": "Give a whole number.",
    "int_parsing": "Give a whole number.",
    "int_from_float": "Give a whole number.",
    "greater_than_equal": "Give a number of at least {ge}.",
    "less_than_equal": "Give a number of at most {le}.",
    "list_type": "Give a list.",
    "too_long": "Give at most {max_length} items.",
    "enum": "Choose one of: {expected}.",
    "literal_error": "Choose one of: {expected}.",
    "uuid_type": "Give an id (a UUID).",
    "uuid_parsing": "Give an id (a UUID).",
    "date_type": "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23.",
    "date_parsing": "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23.",
    "date_from_datetime_parsing": "Enter a real date as YYYY-MM-DD, e.g. 1980-04-23.",
    "none_required": "Leave this empty.",
}
