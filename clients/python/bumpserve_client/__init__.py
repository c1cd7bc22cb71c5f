"""A client for bumpserve, the remote fitting service, in the standard
library only.

    import bumpserve_client as bs
    job = bs.submit("model.py", ["data.txt"], fit="dream", samples=10000, seed=1)
    bs.wait(job)                 # raises bs.JobFailed if it ends in ERROR/CANCEL
    print(bs.results(job)["parameters"])
    bs.download(job, "out")      # the folder `bumps --store=out` would write

The functions read the server, token and private CA from BUMPSERVE_SERVER,
BUMPSERVE_TOKEN and BUMPSERVE_CA_FILE unless given server=, token=, ca=;
anonymous=True submits without a token to a server started with
--anonymous. For many calls, make one Client and use its methods.
Beyond these: a fit series (submit(..., series=[files]), series(job),
series_csv(job)), groups (share, unshare, copy), long fits (stop, resume),
keep, usage, and notifications (notify= at submit, notifications(job),
my_notify, set_my_notify).
Every failure raises a BumpserveError carrying the HTTP status and the
server's error text.
"""

from ._version import __version__
from .client import Client, parse_ref
from .errors import (BadRequest, BumpserveError, ConfigError, Conflict, ConnectionFailed, Forbidden, JobFailed, NotFound,
                     ServerError, TooManyRequests, Unauthorized)

__all__ = [
    "Client", "submit", "wait", "results", "download", "cancel", "jobs", "job", "files", "delete",
    "stop", "resume", "keep", "share", "unshare", "copy", "series", "series_csv", "notifications", "my_notify",
    "set_my_notify", "usage",
    "BumpserveError", "ConfigError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "TooManyRequests",
    "ServerError", "ConnectionFailed", "JobFailed", "parse_ref", "__version__",
]


def _client(server, token, ca, anonymous=False):
    return Client(server=server, token=token, ca=ca, anonymous=anonymous)


def submit(model, files=(), fit=None, *, server=None, token=None, ca=None, anonymous=False, **options):
    """Submit a Bumps fit of model (a .py script) with its data files;
    options are bumps' (samples=, burn=, seed=, steps=, ...) plus args=,
    name=, cpus=, tasks= (MPI ranks), priority=, notify=, groups= and series= (with series_x=,
    chain=), as Client.submit_spec takes them. Returns the job (a dict)."""
    return _client(server, token, ca, anonymous).submit(model, files, fit=fit, **options)


def wait(job, progress=None, timeout=None, *, server=None, token=None, ca=None):
    """Wait for the job to end; return its final record, or raise
    JobFailed (ERROR, CANCEL) with the reason."""
    return _client(server, token, ca).wait(job, progress=progress, timeout=timeout)


def job(job, *, server=None, token=None, ca=None):
    """The job's current record."""
    return _client(server, token, ca).job(job)


def results(job, *, server=None, token=None, ca=None):
    """The results of a completed job (parameters, uncertainties, chisq)."""
    return _client(server, token, ca).results(job)


def files(job, *, server=None, token=None, ca=None):
    """The job's files as [{"path", "size"}]."""
    return _client(server, token, ca).files(job)


def download(job, dest, everything=False, *, server=None, token=None, ca=None):
    """Write the job's bumps store (what `bumps --store=dest` writes) into
    dest; everything=True writes all its files. Returns the paths."""
    return _client(server, token, ca).download(job, dest, everything=everything)


def cancel(job, *, server=None, token=None, ca=None):
    """Ask the job to stop; returns its record."""
    return _client(server, token, ca).cancel(job)


def delete(job, *, server=None, token=None, ca=None):
    """Delete the job and its files."""
    return _client(server, token, ca).delete(job)


def jobs(state=None, service=None, limit=None, *, server=None, token=None, ca=None):
    """Your jobs, newest first, filtered by state and service."""
    return _client(server, token, ca).jobs(state=state, service=service, limit=limit)


def stop(job, *, server=None, token=None, ca=None):
    """Stop a running fit (native or Bumps) early, COMPLETE with what it found so far."""
    return _client(server, token, ca).stop(job)


def resume(job, samples, name=None, *, server=None, token=None, ca=None):
    """Continue an ended DREAM fit for samples more draws; returns the new job."""
    return _client(server, token, ca).resume(job, samples, name=name)


def keep(job, on=True, *, server=None, token=None, ca=None):
    """Pin the job against retention (on=False unpins it); returns its record."""
    return _client(server, token, ca).keep(job, on=on)


def share(job, groups, *, server=None, token=None, ca=None):
    """Share the job read-only with groups (a name or a list) of its owner's."""
    return _client(server, token, ca).share(job, groups)


def unshare(job, groups, *, server=None, token=None, ca=None):
    """Stop sharing the job with groups (a name or a list)."""
    return _client(server, token, ca).unshare(job, groups)


def copy(job, name=None, *, server=None, token=None, ca=None):
    """Submit a copy of a job you may read as your own; returns the new job."""
    return _client(server, token, ca).copy(job, name=name)


def series(job, *, server=None, token=None, ca=None):
    """A fit series' table: its parameters and one row per data file."""
    return _client(server, token, ca).series(job)


def series_csv(job, *, server=None, token=None, ca=None):
    """A fit series' table as CSV text."""
    return _client(server, token, ca).series_csv(job)


def notifications(job, *, server=None, token=None, ca=None):
    """Your job's notifications and their delivery log."""
    return _client(server, token, ca).notifications(job)


def my_notify(*, server=None, token=None, ca=None):
    """Your default notification and whether you have a webhook secret."""
    return _client(server, token, ca).my_notify()


def set_my_notify(email=None, webhook=None, *, server=None, token=None, ca=None):
    """Set your default notification (neither argument: clear it)."""
    return _client(server, token, ca).set_my_notify(email=email, webhook=webhook)


def usage(user=None, group=None, since=None, *, server=None, token=None, ca=None):
    """CPU-hours and disk: your line and your groups' (an admin: anyone's)."""
    return _client(server, token, ca).usage(user=user, group=group, since=since)
