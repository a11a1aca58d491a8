"""Printable documents: PDFs rendered from HTML templates with WeasyPrint (documents/pdf.py)."""
