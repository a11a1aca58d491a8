"""Background tasks of referrals, run by `effleura worker`."""

from django_tasks import task

from effleura.core.clock import in_practice_zone
from effleura.referrals.report_email import email_delivery


@task()
def email_report(delivery_id: int, base_url: str = "http://localhost/") -> None:
    """Email a signed report to its recipient with the PDF attached (referrals/report_email.py);
    the delivery records when it left or why it did not. Dates in the PDF are the
    practice's (and each visit's location's), as on the pages."""
    with in_practice_zone():
        email_delivery(delivery_id, base_url)
