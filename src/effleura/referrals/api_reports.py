"""The reports part of the JSON API: progress reports and discharge summaries for the
referring provider: generate, read, edit the draft, sign, send, and the signed PDF.

Thin, like the views: referrals/reports.py reads (access_*) and writes (check_*/do_*);
it authorizes and audits. Ids are the records' UUIDs. The router is registered in
effleura/api/api.py; its operations' names are in core/permissions.py URL_RULES
(# API: referrals).
"""

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Router, Schema, Status
from pydantic import Field

from effleura.core import versions
from effleura.core.api_schemas import ERRORS_VERSIONED, ERRORS_WITH_ID, InputSchema, IsoDate, StaffRef, text
from effleura.documents.pdf import pdf_response
from effleura.referrals import access, report_sending, reports
from effleura.referrals.models import Report, ReportDelivery
from effleura.referrals.report_pdf import PDF_TEMPLATE, pdf_context, pdf_filename

router = Router(tags=["referrals: reports"])


class ReportIn(InputSchema):
    kind: Literal["progress", "discharge"] = "progress"
    referral_id: UUID | None = Field(None, description="One of the patient's referrals; the episode's own by default.")
    period_start: IsoDate | None = Field(None, description="YYYY-MM-DD; since the last report or the episode's start.")
    period_end: IsoDate | None = Field(None, description="YYYY-MM-DD; today when left out.")


class ReportPatch(InputSchema):
    summary: text(reports.TEXT_MAX) | None = None
    recommendations: text(reports.TEXT_MAX) | None = None


class SendIn(InputSchema):
    method: Literal["email", "fax", "hand", "post"]
    to: text(report_sending.TO_MAX) = Field(
        "", description="Email address, fax number or person; the provider's by default."
    )


class DeliveryOut(Schema):
    method: str
    to: str
    at: datetime
    by: StaffRef
    sent_at: datetime | None
    error: str

    @staticmethod
    def resolve_by(obj: ReportDelivery) -> dict:
        return {"id": obj.by.public_id, "name": obj.by.display_name}


class ReferralReportOut(Schema):
    version: int = Field(description="Counts the saves; send it back in If-Match to refuse a save over a newer one.")
    id: UUID
    kind: str
    status: str
    episode: UUID
    patient: UUID
    referral: UUID | None
    period_start: date
    period_end: date
    content: dict[str, Any]
    summary: str
    recommendations: str
    author: StaffRef
    created_at: datetime
    signed_at: datetime | None
    deliveries: list[DeliveryOut]

    @staticmethod
    def resolve_id(obj: Report) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_episode(obj: Report) -> UUID:
        return obj.episode.public_id

    @staticmethod
    def resolve_patient(obj: Report) -> UUID:
        return obj.episode.patient.public_id

    @staticmethod
    def resolve_referral(obj: Report) -> UUID | None:
        return obj.referral.public_id if obj.referral_id else None

    @staticmethod
    def resolve_author(obj: Report) -> dict:
        return {"id": obj.author.public_id, "name": obj.author.display_name}

    @staticmethod
    def resolve_deliveries(obj: Report) -> list:
        return list(obj.deliveries.all())


def _fresh(report: Report) -> Report:
    return access.report_query().get(pk=report.pk)


@router.get(
    "/episodes/{uuid:episode_id}/reports",
    response={200: list[ReferralReportOut], **ERRORS_WITH_ID},
    url_name="episode_reports",
)
def list_reports(request, episode_id: UUID):
    """The episode's reports, newest first."""
    episode = access.access_episode_for_reports(request.user, episode_id)
    return reports.reports_of_episode(episode)


@router.post(
    "/episodes/{uuid:episode_id}/reports",
    response={201: ReferralReportOut, **ERRORS_WITH_ID},
    url_name="episode_reports",
)
def create_report(request, episode_id: UUID, payload: ReportIn):
    """Generate a draft from the plan, signed notes, completed visits and measures of the period."""
    episode = access.access_episode_for_reports(request.user, episode_id, key="report.write")
    data = payload.model_dump(exclude_none=True)
    if "referral_id" in data:
        data["referral"] = data.pop("referral_id")
    report = reports.do_create_report(request.user, reports.check_create_report(request.user, episode, data))
    return Status(201, _fresh(report))


@router.get("/reports/{uuid:report_id}", response={200: ReferralReportOut, **ERRORS_WITH_ID}, url_name="report")
def get_report(request, report_id: UUID):
    return access.access_report(request.user, report_id)


@router.patch("/reports/{uuid:report_id}", response={200: ReferralReportOut, **ERRORS_VERSIONED}, url_name="report")
def update_report(request, report_id: UUID, payload: ReportPatch):
    """Edit a draft's summary and recommendations (its author only). Send
    `If-Match: "<version>"` (the ETag of your read): if it was saved since, the answer is
    412 and nothing changes."""
    report = access.access_report(request.user, report_id, key="report.write")
    expected = versions.if_match(request)
    clean = reports.check_update_report(request.user, report, payload.model_dump(exclude_unset=True))
    return _fresh(reports.do_update_report(request.user, report, clean, expected_version=expected))


@router.post(
    "/reports/{uuid:report_id}/sign", response={200: ReferralReportOut, **ERRORS_VERSIONED}, url_name="report_sign"
)
def sign_report(request, report_id: UUID):
    """Sign the draft (its author only): it is frozen from now on. With `If-Match`, only
    the version you read is signed (412 if it was edited since)."""
    report = access.access_report(request.user, report_id, key="report.write")
    expected = versions.if_match(request)
    report_sending.check_sign_report(request.user, report)
    return _fresh(report_sending.do_sign_report(request.user, report, expected_version=expected))


@router.post("/reports/{uuid:report_id}/send", response={201: DeliveryOut, **ERRORS_WITH_ID}, url_name="report_send")
def send_report(request, report_id: UUID, payload: SendIn):
    """Email the signed PDF (queued; the delivery records when it left), or record a fax,
    hand-over or post. Audited as an export."""
    # Read under report.view: do_send_report checks report.send and audits the export once.
    report = access.access_report(request.user, report_id)
    delivery = report_sending.do_send_report(
        request.user, report, payload.method, payload.to, base_url=request.build_absolute_uri("/")
    )
    return Status(201, delivery)


@router.get(
    "/reports/{uuid:report_id}/report.pdf",
    response={200: bytes, **ERRORS_WITH_ID},
    url_name="report_pdf",
    openapi_extra={"responses": {"200": {"description": "The signed report", "content": {"application/pdf": {}}}}},
)
def report_pdf(request, report_id: UUID):
    """The signed report as a PDF on the letterhead (audited as a print); 422 for a draft."""
    report = access.access_report_pdf(request.user, report_id)
    return pdf_response(request, PDF_TEMPLATE, pdf_context(report), filename=pdf_filename(report))
