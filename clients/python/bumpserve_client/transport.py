"""HTTP to one bumpserve server: requests with the token, TLS with an
optional private CA, multipart uploads, and server-sent events.

Only the standard library: urllib for requests (it honours the usual
proxy variables), ssl for certificates.
"""

import json
import secrets
import ssl
import urllib.error
import urllib.parse
import urllib.request

from . import errors
from ._version import __version__

USER_AGENT = "bumpserve-python/" + __version__


class Transport:
    """Requests to the server at base (http:// or https://).

    ca names a PEM file of a private certificate authority to trust for
    HTTPS, beside nothing else; without it the system's CAs are used.
    timeout is the socket timeout in seconds for each read.
    """

    def __init__(self, base, token=None, ca=None, timeout=60):
        u = urllib.parse.urlsplit(base)
        if u.scheme not in ("http", "https") or not u.netloc:
            raise errors.ConfigError(
                "server: %r is not a URL (accepted: http://HOST:PORT or https://HOST:PORT)" % base)
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout
        handlers = []
        if u.scheme == "https":
            try:
                ctx = ssl.create_default_context(cafile=ca or None)
            except (OSError, ssl.SSLError) as e:
                raise errors.ConfigError("ca: cannot read %s as a PEM certificate: %s" % (ca, e)) from None
            handlers.append(urllib.request.HTTPSHandler(context=ctx))
        self._opener = urllib.request.build_opener(*handlers)

    def url(self, path, query=None):
        """The absolute URL of path (which starts with /)."""
        q = ""
        if query:
            q = "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        return self.base + path + q

    def open(self, method, path, body=None, headers=None, query=None, auth=True, timeout=None):
        """Send a request and return the open response; an error answer
        or a failure to connect raises a BumpserveError."""
        url = self.url(path, query)
        h = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if auth and self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        req = urllib.request.Request(url, data=body, headers=h, method=method)
        try:
            return self._opener.open(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            with e:
                raise errors.for_status(e.code, _error_text(e), url) from None
        except urllib.error.URLError as e:
            raise _unreachable(self.base, e.reason) from None
        except (OSError, ssl.SSLError) as e:
            raise _unreachable(self.base, e) from None

    def json(self, method, path, doc=None, query=None, auth=True):
        """Send doc as JSON (if given) and decode the JSON answer (None
        for an empty one, such as 204)."""
        body, headers = None, {}
        if doc is not None:
            body = json.dumps(doc).encode()
            headers["Content-Type"] = "application/json"
        with self.open(method, path, body, headers, query, auth) as resp:
            data = resp.read()
        return json.loads(data) if data.strip() else None

    def events(self, path, auth=True):
        """Yield (event, data) of the server-sent events at path until
        the server ends the stream. A comment (keep-alive) yields
        nothing; the socket timeout covers the silence between them."""
        with self.open("GET", path, headers={"Accept": "text/event-stream"}, auth=auth) as resp:
            event, data = "message", []
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data:
                        yield event, "\n".join(data)
                    event, data = "message", []
                elif line.startswith(":"):
                    continue
                else:
                    field, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if field == "event":
                        event = value
                    elif field == "data":
                        data.append(value)


def multipart(doc, files):
    """The body and content type of a submission with files: a part "job"
    holding doc as JSON, then one part "file" per (name, bytes)."""
    boundary = "bumpserve-" + secrets.token_hex(16)
    out = [_part(boundary, 'name="job"', "application/json", json.dumps(doc).encode())]
    for name, data in files:
        out.append(_part(boundary, 'name="file"; filename="%s"' % _quote(name), "application/octet-stream", data))
    out.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(out), "multipart/form-data; boundary=" + boundary


def _part(boundary, disposition, ctype, data):
    head = "--%s\r\nContent-Disposition: form-data; %s\r\nContent-Type: %s\r\n\r\n" % (boundary, disposition, ctype)
    return head.encode() + data + b"\r\n"


def _quote(name):
    if any(c in name for c in '"\r\n\\'):
        raise errors.ConfigError("file name %r: quotes, backslashes and line breaks are not accepted" % name)
    return name


def _error_text(e):
    """The server's {"error": ...} text, or the body or reason as sent."""
    body = e.read(64 << 10)
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and isinstance(doc.get("error"), str):
            return doc["error"]
    except ValueError:
        pass
    text = body.decode("utf-8", "replace").strip()
    return text or str(e.reason)


def _unreachable(base, reason):
    msg = "cannot reach %s: %s" % (base, reason)
    if isinstance(reason, ssl.SSLCertVerificationError):
        msg += " (for a server with a private CA, pass its certificate: --ca FILE, ca=FILE or BUMPSERVE_CA_FILE)"
    return errors.ConnectionFailed(msg, url=base)
