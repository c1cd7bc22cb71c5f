"""The HTTP side of the old Bumps job-queue protocol, as its client and
worker speak it: httplib2 with basic-auth credentials that it sends only
when a 401 challenges it, JSON or multipart bodies, and answers that count
only when they are 200 with a JSON body.

Written for bumpserve's tests; see docs/old-routes.md for the exchanges.
"""

import json
import mimetypes
import os
import uuid

import httplib2


class ServerError(IOError):
    """Any answer but 200, as the old client treats it."""

    def __init__(self, code, body):
        IOError.__init__(self, "server answered %s: %s" % (code, body.strip()))
        self.code = code


class Remote:
    def __init__(self, url, user, token):
        self.url, self.user, self.token = url.rstrip("/"), user, token
        self.http = httplib2.Http()
        self.http.follow_all_redirects = True
        self.http.add_credentials(user, token)

    def private(self):
        """A connection of its own, for another thread: one httplib2.Http
        shared between threads can hand one request the other's answer."""
        return Remote(self.url, self.user, self.token)

    def call(self, method, path, body=None, ctype=None):
        headers = {"User-Agent": "oldprotocol-test"}
        if ctype:
            headers["Content-Type"] = ctype
        if body is not None:
            headers["Content-Length"] = str(len(body))
        resp, content = self.http.request(self.url + path, method, body=body, headers=headers)
        text = content.decode("utf-8")
        if resp["status"] != "200":
            raise ServerError(resp["status"], text)
        return json.loads(text)

    def get(self, path):
        return self.call("GET", path)

    def post_json(self, path, doc):
        return self.call("POST", path, json.dumps(doc), "application/json")

    def post_form(self, path, fields, paths):
        """POST multipart/form-data: text fields, then each file as a part
        named "file" with its base name and a guessed content type."""
        mark = uuid.uuid4().hex
        parts = []
        for key, value in fields.items():
            parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (mark, key, value)).encode())
        for p in paths:
            kind = mimetypes.guess_type(p)[0] or "application/octet-stream"
            head = '--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\nContent-Type: %s\r\n\r\n'
            with open(p, "rb") as f:
                parts.append((head % (mark, os.path.basename(p), kind)).encode() + f.read() + b"\r\n")
        parts.append(("--%s--\r\n" % mark).encode())
        return self.call("POST", path, b"".join(parts), "multipart/form-data; boundary=" + mark)
