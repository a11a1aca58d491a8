"""The largest request the practice accepts (EFFLEURA_MAX_UPLOAD_MB, default 25), refused
before its body is read.

Django itself bounds only what it keeps in memory (DATA_UPLOAD_MAX_MEMORY_SIZE, and it
checks that only once the body is being read); a 300 MB scan would be received whole
before a form or the API could say it is too large. RequestSizeMiddleware, before
anything that reads a body (right after the CSP and browser-protection middleware, so its
413 carries their headers), answers 413 from the declared Content-Length alone.

A body without a declared length (``Transfer-Encoding: chunked``): Django reads such a
body as empty (its stream is bounded by a missing Content-Length, i.e. 0). A server that
promises the stream ends with the body (``wsgi.input_terminated``, which gunicorn sets:
it decodes the chunks itself) can pass it on, and the middleware then gives the
application that stream, capped at the limit, so nothing past the limit is ever read:
reading on raises RequestDataTooBig, which the API and the pages
(core.views.bad_request) answer with the same 413. Without that promise the body stays
empty, as Django has it (tests/core/test_request_size.py drives gunicorn for real).

A body that is not a file upload is held to DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB, or the
upload limit if that is lower), also from its declared length, before anything reads it.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.shortcuts import render

MB = 1024 * 1024


def too_large_message(limit: int | None = None, *, upload: bool = True) -> str:
    """What a person reads when what they sent is over ``limit`` bytes (default: the upload limit)."""
    limit = settings.EFFLEURA_MAX_UPLOAD_BYTES if limit is None else limit
    if upload:
        return (
            f"This is larger than {_megabytes(limit)}, the most the practice accepts in one go. "
            "Nothing was saved: send a smaller file (scan at a lower resolution, or as a PDF)."
        )
    return f"This is larger than {_megabytes(limit)}, the most a form or API request may hold. Nothing was saved."


def _megabytes(size: int) -> str:
    if size < MB:
        return f"{size // 1024} KB"
    value = size / MB
    return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"


def too_large(request, limit: int | None = None, *, upload: bool = True):
    """The 413 answer: JSON ``{"detail": …}`` on the API, the "too large" page elsewhere."""
    message = too_large_message(limit, upload=upload)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    return render(request, "413.html", {"message": message}, status=413)


class BodyTooLarge(RequestDataTooBig):
    """More of a body was read than EFFLEURA_MAX_UPLOAD_MB allows (CappedStream)."""

    def __init__(self, limit: int):
        super().__init__(too_large_message(limit))
        self.limit = limit


def message_for(exc: RequestDataTooBig) -> str:
    """The words for ``exc``: the upload guard's (BodyTooLarge), or for Django's own
    refusal of a body over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    if isinstance(exc, BodyTooLarge):
        return too_large_message(exc.limit)
    return too_large_message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, upload=False)


def too_large_for(request, exc: RequestDataTooBig):
    """The 413 answer for ``exc`` (see message_for)."""
    if isinstance(exc, BodyTooLarge):
        return too_large(request, exc.limit)
    return too_large(request, settings.DATA_UPLOAD_MAX_MEMORY_SIZE, upload=False)


def _declared_length(request) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if not raw:
        return None
    try:
        return max(int(raw), 0)
    except (TypeError, ValueError):
        return None  # Django reads such a body as empty


class CappedStream:
    """A request body stream that gives at most ``limit`` bytes: asked for more, it raises
    RequestDataTooBig instead of reading on."""

    def __init__(self, stream, limit: int):
        self._stream = stream
        self._limit = limit
        self._read = 0

    def _take(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise BodyTooLarge(self._limit)
        return data

    def read(self, size: int | None = -1) -> bytes:
        # One byte more than the limit is the most ever read: it tells a body at the
        # limit from one over it.
        room = self._limit - self._read + 1
        size = room if size is None or size < 0 else min(size, room)
        return self._take(self._stream.read(size))

    def readline(self, size: int | None = -1) -> bytes:
        room = self._limit - self._read + 1
        size = room if size is None or size < 0 else min(size, room)
        return self._take(self._stream.readline(size))

    def __iter__(self):
        while line := self.readline():
            yield line

    def close(self):
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class RequestSizeMiddleware:
    """Refuses a request over EFFLEURA_MAX_UPLOAD_MB (or a non-file body over
    DATA_UPLOAD_MAX_MEMORY_SIZE) with 413 before anything reads its body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.EFFLEURA_MAX_UPLOAD_BYTES
        length = _declared_length(request)
        if length is not None:
            if length > limit:
                return too_large(request, limit)
            in_memory = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            is_upload = request.content_type == "multipart/form-data"
            if in_memory is not None and not is_upload and length > in_memory:
                return too_large(request, in_memory, upload=False)
        elif _chunked(request):
            request._stream = CappedStream(request.environ["wsgi.input"], limit)
        return self.get_response(request)


def _chunked(request) -> bool:
    """A body of undeclared length the server vouches ends where the body ends."""
    encoding = request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    environ = getattr(request, "environ", {})
    return "chunked" in encoding and bool(environ.get("wsgi.input_terminated")) and "wsgi.input" in environ
