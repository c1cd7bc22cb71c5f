"""The bumpserve API as Python calls: submit a Bumps fit (or a series of
them), follow it, read its results and files, cancel, stop or continue it,
share it with groups, copy it, list jobs, see usage and notifications."""

import http.client
import json
import os
import random
import time
import urllib.parse

from . import errors
from .transport import Transport, multipart

TERMINAL = ("COMPLETE", "ERROR", "CANCEL")

# What bumps writes with --store lives here among a bumps job's files.
STORE_PREFIX = "output/store/"

CAPABILITY_PREFIX = "cap_"
ANONYMOUS_ROUTE = "/api/v1/anonymous/jobs/"


class Client:
    """A connection to one bumpserve server.

    server, token and ca default to the environment variables
    BUMPSERVE_SERVER, BUMPSERVE_TOKEN and BUMPSERVE_CA_FILE. ca is a PEM
    file of a private certificate authority for HTTPS. With
    anonymous=True, submissions go to the anonymous route (a server
    started with --anonymous) and need no token; the job returned then
    carries the capability that is its only handle.

    A job is named by its id, by an anonymous job's capability (or its
    capability URL), or by the job dict a call returned.
    """

    def __init__(self, server=None, token=None, ca=None, anonymous=False, timeout=60):
        server = server or os.environ.get("BUMPSERVE_SERVER")
        if not server:
            raise errors.ConfigError(
                "server: missing (pass server=URL or set BUMPSERVE_SERVER, e.g. http://127.0.0.1:8080)")
        if token is None:
            token = os.environ.get("BUMPSERVE_TOKEN") or None
        if ca is None:
            ca = os.environ.get("BUMPSERVE_CA_FILE") or None
        self.anonymous = anonymous
        self.http = Transport(server, token=None if anonymous else token, ca=ca, timeout=timeout)

    # Submitting.

    def submit(self, model, files=(), fit=None, args=(), name=None, cpus=None, *, tasks=None, priority=None,
               notify=None, groups=None, series=None, series_x=None, chain=False, **options):
        """Submit a Bumps fit of the model script (a path ending in .py)
        with the data files it reads, and return the job.

        fit is the fitter (amoeba, de, dream, lm, newton, pt,
        scipy.leastsq); options are bumps' own (samples=10000, burn=100,
        seed=1, steps=..., parallel=...) and only those given reach bumps;
        args are the model's arguments. parallel=N asks for N CPUs unless
        cpus says otherwise. tasks=N runs the fit as N MPI ranks of
        bumps --mpi on one node (cpus is then per rank; not with
        parallel). priority, notify, groups and series are as
        in submit_spec; in a Bumps series the model gets each data file's
        name as its last argument.
        """
        paths = [model] + list(files)
        spec = {"model": os.path.basename(model), "args": [str(a) for a in args]}
        if fit:
            spec["fitter"] = fit
        if options:
            spec["options"] = options
        par = options.get("parallel")
        if cpus is None and isinstance(par, int) and par > 1:
            cpus = par
        if cpus is not None:
            spec["resources"] = {"cpus": cpus}
        if tasks is not None:
            spec.setdefault("resources", {})["tasks"] = tasks
        return self.submit_spec("bumps", spec, paths, name=name if name is not None else spec["model"],
                                priority=priority, notify=notify, groups=groups,
                                series=series, series_x=series_x, chain=chain)

    def submit_spec(self, service, spec, files=(), name=None, *, priority=None, notify=None, groups=None,
                    series=None, series_x=None, chain=False):
        """Submit a job of any service (bumps, fit, sleep) with its spec as
        a dict, uploading files under their base names.

        Only the settings given reach the server:

        - priority: -100 to 100; after fair share among users, higher
          runs first.
        - notify: who is told when the job ends, a dict {"email": ...,
          "webhook": ...}, or a string: an address with "@" mails it, an
          http(s) URL is a webhook, "none" (or {}) asks for nothing, not
          even your default (my_notify()).
        - groups: names of your groups to share the job with, read-only.
        - series: data file paths, making the job a fit series: a parent
          with one child fit per file (files then go to every child).
          series_x says where each row's x comes from ("index",
          "name:REGEX", "column:N"); chain=True starts each fit (native
          or Bumps) from the previous one's best values.
        """
        doc = {"service": service, "spec": spec}
        if name:
            doc["name"] = name
        if priority is not None:
            doc["priority"] = priority
        if notify is not None:
            doc["notify"] = _notify_doc(notify)
        if groups is not None:
            doc["groups"] = _names("groups", groups)
        paths = list(files)
        if series is not None:
            series = _series_paths(series)
            doc["series"] = {"files": [os.path.basename(p) for p in series], "chain": bool(chain)}
            if series_x is not None:
                doc["series"]["x"] = series_x
            paths += series
        elif series_x is not None or chain:
            raise errors.ConfigError("series_x, chain: they go with series=[data files], which is missing")
        path = "/api/v1/anonymous/jobs" if self.anonymous else "/api/v1/jobs"
        self._need_token(path)
        uploads = _read_uploads(paths)
        if not uploads:
            return self.http.json("POST", path, doc)
        body, ctype = multipart(doc, uploads)
        with self.http.open("POST", path, body, {"Content-Type": ctype}) as resp:
            return json.loads(resp.read())

    # Following a job.

    def job(self, job):
        """The job's current record."""
        return self.http.json("GET", self._job_path(job))

    def events(self, job):
        """Yield the job's record at once and on every change until it
        ends, reconnecting after a dropped connection or a server restart."""
        path = self._job_path(job, "/events")
        reached, failures = False, 0
        while True:
            try:
                for event, data in self.http.events(path):
                    if event == "deleted":
                        raise errors.NotFound("job %s was deleted" % _label(job), status=404)
                    if event != "job":
                        continue
                    last = json.loads(data)
                    reached, failures = True, 0
                    yield last
                    if last.get("state") in TERMINAL:
                        return
            except (errors.ConnectionFailed, errors.ServerError, OSError, http.client.HTTPException):
                # Give up at once on a server never reached (a wrong
                # URL, a certificate refused); retry one that was.
                if not reached or failures >= 20:
                    raise
            failures += 1
            if failures > 20:
                raise errors.ConnectionFailed("the event stream of job %s keeps ending before the job does" % _label(job))
            time.sleep(min(10.0, 0.1 * 2 ** min(failures, 7)) * (0.5 + random.random()))

    def wait(self, job, progress=None, timeout=None):
        """Wait until the job ends and return its final record. progress,
        if given, is called with every record on the way. A job that ends
        in ERROR or CANCEL raises JobFailed with its reason. timeout (in
        seconds) raises TimeoutError once passed; it is checked whenever
        the job changes (a running fit reports progress every second or so)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        final = None
        for j in self.events(job):
            if progress is not None:
                progress(j)
            final = j
            if deadline is not None and time.monotonic() > deadline and j.get("state") not in TERMINAL:
                raise TimeoutError("job %s has not ended after %g s" % (_label(job), timeout))
        if final.get("state") != "COMPLETE":
            raise errors.JobFailed(final)
        return final

    def results(self, job):
        """The results of a completed job: fitter, chisq, parameters with
        their uncertainties, and more (see the server's documentation)."""
        return self.http.json("GET", self._job_path(job, "/results"))

    def files(self, job):
        """The job's files: a list of {"path": "output/...", "size": N}."""
        return self.http.json("GET", self._job_path(job, "/files"))["files"]

    def read_file(self, job, path):
        """One file of the job (a path from files()) as bytes."""
        with self.http.open("GET", self._file_path(job, path), headers={"Accept": "*/*"}) as resp:
            return resp.read()

    def download(self, job, dest, everything=False):
        """Write the job's files into the folder dest and return the paths
        written. For a bumps job these are the files of its bumps store,
        so dest holds what `bumps --store=dest` would have written; for
        other jobs, the files of output/. With everything=True, all of the
        job's files keep their paths (input/..., output/...)."""
        listing = self.files(job)
        if everything:
            chosen = [(f["path"], f["path"]) for f in listing]
        else:
            prefix = STORE_PREFIX if any(f["path"].startswith(STORE_PREFIX) for f in listing) else "output/"
            chosen = [(f["path"], f["path"][len(prefix):]) for f in listing if f["path"].startswith(prefix)]
        written = []
        for src, rel in chosen:
            target = os.path.join(dest, *_safe_parts(rel))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = target + ".part"
            with self.http.open("GET", self._file_path(job, src), headers={"Accept": "*/*"}) as resp, \
                    open(tmp, "wb") as out:
                while chunk := resp.read(1 << 16):
                    out.write(chunk)
            os.replace(tmp, target)
            written.append(target)
        return written

    # Changing a job.

    def cancel(self, job):
        """Ask the job to stop; it ends in CANCEL. Returns its record."""
        return self.http.json("POST", self._job_path(job, "/cancel"))

    def delete(self, job):
        """Delete the job and its files."""
        self.http.json("DELETE", self._job_path(job))

    def stop(self, job):
        """Stop a running fit (service fit or bumps) early: it ends COMPLETE
        with its best point so far (and, for DREAM, the draws so far),
        where cancel would discard them. Returns its record."""
        return self.http.json("POST", self._own_path(job, "/stop"))

    def resume(self, job, samples, name=None):
        """Continue an ended DREAM fit (service fit) for samples more
        draws, as a new job of yours whose results hold the earlier draws
        and the new ones; name defaults to "<name> (continued)". Returns
        the new job."""
        doc = {"samples": samples}
        if name is not None:
            doc["name"] = name
        return self.http.json("POST", self._own_path(job, "/resume"), doc)

    def keep(self, job, on=True):
        """Pin the job against the server's retention (on=False unpins
        it). Returns its record, whose "keep" says which."""
        return self.http.json("POST", self._own_path(job, "/keep"), {"keep": bool(on)})

    # Sharing with groups.

    def share(self, job, groups):
        """Share the job read-only with groups (a name or a list of names)
        its owner belongs to. Returns its record with its "groups"."""
        return self.http.json("POST", self._own_path(job, "/share"), {"groups": _names("groups", groups)})

    def unshare(self, job, groups):
        """Stop sharing the job with groups (a name or a list of names);
        a group it is not shared with is no error. Returns its record."""
        return self.http.json("POST", self._own_path(job, "/unshare"), {"groups": _names("groups", groups)})

    def copy(self, job, name=None):
        """Submit a copy of a job you may read (yours, or one shared with
        your groups) as your own: same service, spec and input files,
        shared with no one; name defaults to "<name> (copy)". Returns the
        new job."""
        doc = {} if name is None else {"name": name}
        return self.http.json("POST", self._own_path(job, "/copy"), doc)

    # Fit series.

    def series(self, job):
        """A fit series' table (job is the parent): "parameters" (names)
        and one row per data file with its index, file, x, child job,
        state, reason, params {name: {value, stderr}}, chisq and
        reduced_chisq, as the children are now."""
        return self.http.json("GET", self._own_path(job, "/series"))

    def series_csv(self, job):
        """The same table as CSV text: index, file, x, job, state, each
        parameter and NAME_stderr, chisq, reduced_chisq, reason."""
        with self.http.open("GET", self._own_path(job, "/series.csv"), headers={"Accept": "text/csv"}) as resp:
            return resp.read().decode("utf-8")

    # Notifications and accounting.

    def notifications(self, job):
        """Your job's notifications and their delivery log: {"notifications":
        [...], "log": [...]} (the owner's only; others get NotFound)."""
        return self.http.json("GET", self._own_path(job, "/notifications"))

    def my_notify(self):
        """Your default notification, for jobs submitted without notify:
        {"default": {"email"?, "webhook"?}, "has_webhook_secret": bool}."""
        self._need_token("/api/v1/me/notify")
        return self.http.json("GET", "/api/v1/me/notify")

    def set_my_notify(self, email=None, webhook=None):
        """Set your default notification to an email address, an https
        webhook URL, or both; with neither, clear it. Returns the settings
        as stored."""
        self._need_token("/api/v1/me/notify")
        doc = {k: v for k, v in (("email", email), ("webhook", webhook)) if v is not None}
        return self.http.json("PUT", "/api/v1/me/notify", doc)

    def usage(self, user=None, group=None, since=None):
        """CPU-hours and disk: {"users": [...], "groups": [...],
        "disk_quota_bytes": N}. A user sees their own line and their
        groups'; an admin everyone's, or one user's or group's. since is a
        date YYYY-MM-DD or an RFC 3339 time (default: the beginning)."""
        self._need_token("/api/v1/usage")
        return self.http.json("GET", "/api/v1/usage", query={"user": user, "group": group, "since": since})

    # Listing.

    def jobs(self, state=None, service=None, limit=None):
        """Your jobs, newest first (an admin sees everyone's), filtered by
        state (PENDING, ACTIVE, COMPLETE, ERROR, CANCEL) and service;
        every page unless limit caps the count."""
        self._need_token("/api/v1/jobs")
        out, before = [], None
        while True:
            page = min(limit - len(out), 1000) if limit else None
            doc = self.http.json("GET", "/api/v1/jobs", query={
                "state": state, "service": service, "limit": page, "before": before})
            out.extend(doc["jobs"])
            before = doc.get("next")
            if not before or (limit and len(out) >= limit):
                return out

    def whoami(self):
        """The user the token belongs to."""
        return self.http.json("GET", "/api/v1/whoami")

    # Paths.

    def _job_path(self, job, suffix=""):
        cap, ident = parse_ref(job)
        if cap:
            return ANONYMOUS_ROUTE + cap + suffix
        self._need_token("/api/v1/jobs/%d" % ident)
        return "/api/v1/jobs/%d%s" % (ident, suffix)

    def _own_path(self, job, suffix):
        """The path of a route that only a user's job has (not an
        anonymous job's capability)."""
        cap, _ = parse_ref(job)
        if cap:
            raise errors.ConfigError(
                "job: %s is an anonymous job; %s is only for jobs submitted with a token" % (_label(job), suffix[1:]))
        return self._job_path(job, suffix)

    def _file_path(self, job, path):
        return self._job_path(job, "/files/" + urllib.parse.quote(path))

    def _need_token(self, path):
        if self.http.token is None and not path.startswith("/api/v1/anonymous/"):
            raise errors.ConfigError(
                "token: missing (pass token=TOKEN or set BUMPSERVE_TOKEN; "
                "on a server started with --anonymous, use anonymous=True)")


def parse_ref(job):
    """Split a job reference into (capability, None) or (None, id)."""
    if isinstance(job, dict):
        if job.get("capability"):
            return job["capability"], None
        job = job.get("id")
    if isinstance(job, bool):
        job = None
    if isinstance(job, int) and job > 0:
        return None, job
    if isinstance(job, str):
        text = job.strip()
        if ANONYMOUS_ROUTE in text:
            text = text.split(ANONYMOUS_ROUTE, 1)[1].split("/", 1)[0].split("?", 1)[0]
        if text.startswith(CAPABILITY_PREFIX):
            return text, None
        if text.isdigit() and int(text) > 0:
            return None, int(text)
    raise errors.ConfigError(
        "job: %r is not a job id (a positive number) nor an anonymous job's capability (cap_...)" % (job,))


def _label(job):
    cap, ident = parse_ref(job)
    return ident if ident else cap[:12] + "..."


def _notify_doc(notify):
    """The job document's notify from a dict or a string (see submit_spec)."""
    if isinstance(notify, dict):
        return dict(notify)
    if not isinstance(notify, str):
        raise errors.ConfigError("notify: %r is not accepted (accepted: a dict {email, webhook}, "
                                 "an address, an http(s) URL, or \"none\")" % (notify,))
    text = notify.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else None
    if text.lower() == "none":
        return {}
    if scheme in ("http", "https"):
        return {"webhook": text}
    if scheme is None and "@" in text:
        return {"email": text}
    raise errors.ConfigError("notify: %r is neither an email address nor an http(s) webhook URL "
                             "(accepted: an address, an https:// URL, or \"none\")" % notify)


def _names(arg, names):
    """A name or a list of names, as a list of strings."""
    if isinstance(names, str):
        names = [names]
    try:
        names = list(names)
    except TypeError:
        names = None
    if not names or not all(isinstance(n, str) and n for n in names):
        raise errors.ConfigError("%s: give a name or a list of names" % arg)
    return names


def _series_paths(series):
    """The series' data file paths, checked to have distinct base names."""
    if isinstance(series, str):
        raise errors.ConfigError("series: give a list of data file paths, not one string")
    paths = list(series)
    if not paths:
        raise errors.ConfigError("series: no data files")
    _check_distinct("series", paths)
    return paths


def _check_distinct(arg, paths):
    """Refuse two paths that would be uploaded under one base name."""
    seen = {}
    for p in paths:
        name = os.path.basename(p)
        if name in seen:
            raise errors.ConfigError("%s: %s and %s would both be uploaded as %s" % (arg, seen[name], p, name))
        seen[name] = p


def _read_uploads(paths):
    _check_distinct("files", paths)
    uploads = []
    for p in paths:
        try:
            with open(p, "rb") as f:
                uploads.append((os.path.basename(p), f.read()))
        except OSError as e:
            raise errors.ConfigError("file %s: %s" % (p, e.strerror or e)) from None
    return uploads


def _safe_parts(rel):
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise errors.ConfigError("server listed a file with an unsafe path: %r" % rel)
    return parts
