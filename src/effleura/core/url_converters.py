"""Path converters for opaque ids that are not UUIDs.

A passkey is named by django-otp-webauthn's SHA-256 of its credential id (64 lowercase
hex digits): as opaque as a UUID, and the converter refuses anything else (404) before a
view sees it, as Django's UUID converter does for every other record id.
"""


class Sha256Converter:
    regex = "[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
