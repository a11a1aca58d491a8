"""The scheduling set-up part of the JSON API: locations (with opening hours), rooms,
services, practitioners' working hours, dated exceptions, time off and the booking policy.

The list/create/get/patch/delete operations of each resource come from its spec
(scheduling/resources.py; shapes in setup_schemas.py); the booking policy, a single
record, is written here. Thin, like the pages: setup.py / hours.py authorize, validate
and write (with the audit event). Every role reads (scheduling_setup.view); only the
owner writes (scheduling_setup.manage); core/permissions.py URL_RULES gates each
operation first. Ids are the records' UUIDs. Times of day are "HH:MM" in the location's
local time; time off is a pair of ISO 8601 instants with an offset.
"""

from django.http import HttpResponse
from ninja import Schema
from pydantic import Field

from effleura.core import versions
from effleura.core.api_schemas import ERRORS, Flag, InputSchema, StaleOut, WholeNumber
from effleura.core.resources import api_router
from effleura.scheduling import resources, setup

router = api_router(*resources.RESOURCES, tags=["scheduling set-up"], module=__name__)


# The booking policy -------------------------------------------------------------------------------


class PolicyIn(InputSchema):
    late_cancel_hours: WholeNumber = Field(ge=0, le=720, description="A cancellation closer than this is late.")
    minimum_notice_minutes: WholeNumber = Field(ge=0, le=43_200, description="No booking closer to now than this.")
    slot_step_minutes: WholeNumber = Field(ge=5, le=120, description="Offer a start every … minutes.")
    reminder_hours_before: WholeNumber = Field(ge=1, le=336)
    send_confirmations: Flag
    send_reminders: Flag


class SchedulingPolicyOut(Schema):
    version: int = Field(description="Counts the saves (1: the defaults); send it in If-Match with PUT.")
    late_cancel_hours: int
    minimum_notice_minutes: int
    slot_step_minutes: int
    reminder_hours_before: int
    send_confirmations: bool
    send_reminders: bool


@router.get("/scheduling-policy", response={200: SchedulingPolicyOut, **ERRORS}, url_name="scheduling_policy")
def get_policy(request, response: HttpResponse):
    policy = setup.get_policy(request.user)
    response["ETag"] = versions.etag(policy.version)
    return policy


@router.put(
    "/scheduling-policy", response={200: SchedulingPolicyOut, 412: StaleOut, **ERRORS}, url_name="scheduling_policy"
)
def put_policy(request, payload: PolicyIn, response: HttpResponse):
    """Replace the whole policy: every field is required. Send `If-Match: "<version>"`
    (the ETag of your read): if someone saved since, the answer is 412 and nothing changes."""
    expected = versions.if_match(request)
    clean = setup.check_save_policy(request.user, payload.model_dump())
    policy = setup.do_save_policy(request.user, clean, expected_version=expected)
    response["ETag"] = versions.etag(policy.version)
    return policy
