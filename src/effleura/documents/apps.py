import logging

from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "effleura.documents"
    label = "documents"
    verbose_name = "Documents: PDFs on the practice's letterhead"

    def ready(self):
        # WeasyPrint logs every rendering step at INFO; the server log keeps its warnings
        # (a refused resource, a missing font) and drops the step-by-step chatter.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
