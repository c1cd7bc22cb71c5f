"""Exceptions of the bumpserve client.

Every failure is a BumpserveError. Those that come from an HTTP answer
carry its status and the server's own error text (the "error" field of its
JSON answer), which names the field and what would be accepted.
"""


class BumpserveError(Exception):
    """A request to bumpserve failed.

    status is the HTTP status code, or None when no answer came (the
    server could not be reached, or a job ended badly). message is the
    server's error text, or the client's own description.
    """

    def __init__(self, message, status=None, url=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url

    def __str__(self):
        if self.status is None:
            return self.message
        return "HTTP %d: %s" % (self.status, self.message)


class ConfigError(BumpserveError):
    """A setting or argument is missing or malformed before any request:
    the server URL, the token, the CA file, a job reference, a file to
    upload."""


class BadRequest(BumpserveError):
    """The server refused the request as malformed (400, 413, 415)."""


class Unauthorized(BumpserveError):
    """The token is missing, invalid or revoked (401)."""


class Forbidden(BumpserveError):
    """The token may not use this route (403)."""


class NotFound(BumpserveError):
    """No job (or file) of that name that the caller may see (404)."""


class Conflict(BumpserveError):
    """The job is not in a state that allows this (409), such as results
    of a job that has not completed or a cancel of a finished job."""


class TooManyRequests(BumpserveError):
    """A quota or rate limit was reached (429)."""


class ServerError(BumpserveError):
    """The server failed (5xx)."""


class ConnectionFailed(BumpserveError):
    """No answer: the server could not be reached, or TLS failed."""


class JobFailed(BumpserveError):
    """A job ended in ERROR or CANCEL. job is its last record; state and
    reason are copied from it."""

    def __init__(self, job):
        self.job = job
        self.state = job.get("state")
        self.reason = job.get("reason") or ""
        ref = job.get("id") if job.get("id") is not None else "?"
        msg = "job %s ended in %s" % (ref, self.state)
        if self.reason:
            msg += ": " + self.reason
        super().__init__(msg)


_BY_STATUS = {
    400: BadRequest, 413: BadRequest, 415: BadRequest,
    401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict,
    429: TooManyRequests,
}


def for_status(status, message, url=None):
    """The exception for an HTTP error answer."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else BumpserveError
    return cls(message, status=status, url=url)
