"""The command line: `python3 -m bumpserve_client model.py data.txt
--fit=dream --samples=10000 --store=out` runs a Bumps fit on a bumpserve
server as `bumps` would run it here, and a few subcommands look after
jobs. Exit status: 0 done, 1 the job or a request failed, 2 bad usage
(or input the server refused as malformed)."""

import argparse
import json
import os
import re
import sys
import urllib.parse

from . import errors
from ._version import __version__
from .client import ANONYMOUS_ROUTE, Client, parse_ref
from .progress import ProgressLine

PROG = "python3 -m bumpserve_client"

USAGE = """usage: {prog} MODEL.py [DATA ...] [--fit=FITTER] [--OPTION=VALUE ...] [--store=DIR]
                 [--overwrite] [--no-wait] [--json] [--quiet] [--name=NAME] [--cpus=N] [-- MODEL_ARGS ...]
       {prog} status|wait|results|files|download|cancel|delete ID ...
       {prog} jobs [--state=STATE] [--service=SERVICE] [--limit=N] [--json]

Runs a Bumps fit on a bumpserve server as `bumps` would run it here: the first
file is the model script, the others the data it reads (uploaded beside it).
--fit and bumps' options (--samples, --burn, --steps, --seed, --pop, --init,
--parallel, --err, ...) are passed to bumps as given. Live progress goes to
stderr; at the end bumps' console output goes to stdout and, with --store=DIR,
DIR receives the files `bumps --store=DIR` would write. --no-wait prints the
job id (or an anonymous job's capability URL) and returns at once.

Subcommands take a job id or capability URL: status (the job as JSON), wait
(like the end of a fit, --store=DIR too), results (JSON), files, download ID DEST
[--all], cancel, delete; jobs lists your jobs.

connection (every command): --server=URL --token=TOKEN --ca=FILE (a private CA
for HTTPS), from BUMPSERVE_SERVER, BUMPSERVE_TOKEN, BUMPSERVE_CA_FILE unless
given; --anonymous submits without a token (servers started with --anonymous).

exit status: 0 done, 1 the job or a request failed, 2 bad usage or refused input.
"""

# Flags of the client itself in the bumps-like command line; every other
# --NAME[=VALUE] is a bumps option for the server to check. --batch is
# accepted and changes nothing: a job always runs bumps in batch mode.
VALUE_FLAGS = {"server", "token", "ca", "ca-file", "store", "name", "cpus", "fit"}
BOOL_FLAGS = {"no-wait", "anonymous", "overwrite", "quiet", "json", "batch"}

SUBCOMMANDS = ("status", "wait", "results", "files", "download", "cancel", "delete", "jobs")


class UsageError(Exception):
    pass


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return run_subcommand(argv)
        return run_fit(argv)
    except UsageError as e:
        print("%s: %s (see --help)" % (PROG, e), file=sys.stderr)
        return 2
    except errors.BumpserveError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 2 if isinstance(e, (errors.BadRequest, errors.ConfigError)) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early, as by `| head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# The bumps-like command.

def run_fit(argv):
    flags, options, files, model_args = parse_fit_args(argv)
    if flags.get("help"):
        print(USAGE.format(prog=PROG))
        return 0
    if flags.get("version"):
        print("bumpserve_client", __version__)
        return 0
    if flags.get("store") and flags.get("no-wait"):
        raise UsageError("--store with --no-wait: nothing would be written (later, `wait ID --store=DIR` writes it)")
    if not files:
        raise UsageError("missing the model script (MODEL.py, then its data files)")
    if not files[0].endswith(".py"):
        raise UsageError("model: %s is not a Python model script (a file ending in .py)" % files[0])
    for f in files:
        if not os.path.isfile(f):
            raise UsageError("%s: no such file" % f)
    store = flags.get("store")
    if store:
        check_store(store, flags.get("overwrite"))
    cpus = None
    if "cpus" in flags:
        if not re.fullmatch(r"[1-9][0-9]*", flags["cpus"]):
            raise UsageError("--cpus: %r is not a whole number of CPUs (1 or more)" % flags["cpus"])
        cpus = int(flags["cpus"])
    client = connect(flags)
    job = client.submit(files[0], files[1:], fit=flags.get("fit"), args=model_args, name=flags.get("name"),
                        cpus=cpus, **options)
    handle = job_handle(client, job)
    if flags.get("no-wait"):
        print(handle)
        return 0
    if job.get("capability"):
        print("anonymous job: %s (its only handle; keep it)" % handle, file=sys.stderr)
    return follow(client, job, handle, store, flags)


def parse_fit_args(argv):
    """Split the bumps-like command line into client flags, bumps options,
    files and model arguments (those after --)."""
    flags, options, files, model_args = {}, {}, [], []
    it = iter(argv)
    for arg in it:
        if arg == "--":
            model_args = list(it)
        elif arg in ("-h", "--help"):
            flags["help"] = True
        elif arg == "--version":
            flags["version"] = True
        elif arg.startswith("--"):
            key, eq, value = arg[2:].partition("=")
            if key in VALUE_FLAGS:
                if not eq:
                    value = next(it, None)
                    if value is None:
                        raise UsageError("--%s needs a value" % key)
                flags["ca" if key == "ca-file" else key] = value
            elif key in BOOL_FLAGS:
                if eq:
                    raise UsageError("--%s takes no value" % key)
                flags[key] = True
            elif not key:
                raise UsageError("%r is not an option" % arg)
            else:
                options[key] = option_value(value) if eq else True
        elif arg.startswith("-") and arg != "-":
            raise UsageError("%s: unknown option (bumps options are written --NAME=VALUE)" % arg)
        else:
            files.append(arg)
    return flags, options, files, model_args


def option_value(text):
    """A bumps option's value as JSON wants it: a number, true/false, or
    the text itself (the server checks it against what bumps accepts)."""
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def check_store(store, overwrite):
    if os.path.exists(store) and not os.path.isdir(store):
        raise UsageError("--store: %s exists and is not a folder" % store)
    if os.path.isdir(store) and os.listdir(store) and not overwrite:
        raise UsageError("--store: %s already holds files, as bumps would refuse too (add --overwrite to write over them)"
                         % store)


def follow(client, job, handle, store, flags):
    """Show the job's progress until it ends, then print bumps' console
    output (or the results as JSON) and write the store."""
    line = ProgressLine(sys.stderr, quiet=flags.get("quiet"))
    try:
        client.wait(job, progress=line.show)
    except errors.JobFailed as e:
        line.done()
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        line.done()
        print("%s: stopped waiting; the job goes on (`%s cancel %s` stops it)" % (PROG, PROG, handle),
              file=sys.stderr)
        return 130
    line.done()
    if flags.get("json"):
        print(json.dumps(client.results(job), indent=2))
    else:
        try:
            sys.stdout.write(client.read_file(job, "output/bumps-stdout.txt").decode("utf-8", "replace"))
        except errors.NotFound:  # not a bumps job
            pass
        sys.stdout.write(summary(client.results(job)))
    sys.stdout.flush()
    if store:
        written = client.download(job, store)
        print("wrote %d files to %s" % (len(written), store), file=sys.stderr)
    return 0


def summary(res):
    """The fitted parameters with their uncertainties and chi-square, in
    a few lines: bumps in batch mode leaves them to its .err file."""
    params = res.get("parameters") or {}
    width = max([len(n) for n in params] + [9])
    lines = ["", "%-*s  %14s  %12s" % (width, "parameter", "value", "uncertainty")]
    for name, p in params.items():
        err = p.get("stderr")
        lines.append("%-*s  %14.7g  %12s" % (width, name, p.get("value", float("nan")),
                                             "" if err is None else "%.3g" % err))
    if res.get("chisq") is not None:
        lines.append("chisq %.6g, reduced %.6g (dof %s), fitter %s" % (
            res["chisq"], res.get("reduced_chisq", float("nan")), res.get("dof"), res.get("fitter")))
    return "\n".join(lines) + "\n"


def connect(flags, ref=None):
    """A client from the flags and environment. A capability URL brings
    its own server when none is given."""
    server = flags.get("server") or os.environ.get("BUMPSERVE_SERVER")
    if not server and ref and ANONYMOUS_ROUTE in ref:
        u = urllib.parse.urlsplit(ref)
        server = "%s://%s%s" % (u.scheme, u.netloc, u.path.split(ANONYMOUS_ROUTE)[0])
    if not server:
        raise UsageError("server: missing (use --server=URL or BUMPSERVE_SERVER, e.g. http://127.0.0.1:8080)")
    return Client(server=server, token=flags.get("token"), ca=flags.get("ca"), anonymous=bool(flags.get("anonymous")))


def job_handle(client, job):
    """What names the job on the command line: its id, or an anonymous
    job's full capability URL."""
    if job.get("capability"):
        return client.http.url(ANONYMOUS_ROUTE + job["capability"])
    return str(job["id"])


# Subcommands.

def run_subcommand(argv):
    conn = argparse.ArgumentParser(add_help=False)
    conn.add_argument("--server", help="server URL (env BUMPSERVE_SERVER)")
    conn.add_argument("--token", help="API token (env BUMPSERVE_TOKEN)")
    conn.add_argument("--ca", "--ca-file", dest="ca", help="PEM file of a private CA (env BUMPSERVE_CA_FILE)")
    p = argparse.ArgumentParser(prog=PROG, description="Look after bumpserve jobs.")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, helptext, with_id=True):
        sp = sub.add_parser(name, parents=[conn], help=helptext, description=helptext)
        if with_id:
            sp.add_argument("id", metavar="ID", help="job id or anonymous capability URL")
        return sp

    add("status", "print the job as JSON")
    w = add("wait", "show progress until the job ends, then print bumps' output")
    w.add_argument("--store", help="write the bumps store files into this folder")
    w.add_argument("--overwrite", action="store_true", help="write over a store folder that holds files")
    w.add_argument("--quiet", action="store_true", help="no progress line")
    w.add_argument("--json", action="store_true", help="print the results as JSON instead of bumps' output")
    add("results", "print the results of a completed job as JSON")
    add("files", "list the job's files")
    d = add("download", "write the job's bumps store (or output/) files into DEST")
    d.add_argument("dest", metavar="DEST")
    d.add_argument("--all", action="store_true", help="every file of the job, under input/ and output/")
    add("cancel", "stop the job")
    add("delete", "delete the job and its files")
    j = add("jobs", "list your jobs, newest first", with_id=False)
    j.add_argument("--state", help="PENDING, ACTIVE, COMPLETE, ERROR or CANCEL")
    j.add_argument("--service", help="bumps, fit or sleep")
    j.add_argument("--limit", type=int, help="at most this many")
    j.add_argument("--json", action="store_true", help="the jobs as JSON")
    ns = p.parse_args(argv)

    ref = getattr(ns, "id", None)
    client = connect(vars(ns), ref)
    if ref is not None:
        parse_ref(ref)  # a malformed reference is a usage error before any request
    return COMMANDS[ns.command](client, ns)


def cmd_status(client, ns):
    print_json(client.job(ns.id))
    return 0


def cmd_wait(client, ns):
    if ns.store:
        check_store(ns.store, ns.overwrite)
    return follow(client, ns.id, ns.id, ns.store, vars(ns))


def cmd_results(client, ns):
    print_json(client.results(ns.id))
    return 0


def cmd_files(client, ns):
    for f in client.files(ns.id):
        print("%10d  %s" % (f["size"], f["path"]))
    return 0


def cmd_download(client, ns):
    written = client.download(ns.id, ns.dest, everything=ns.all)
    print("wrote %d files to %s" % (len(written), ns.dest), file=sys.stderr)
    return 0


def cmd_cancel(client, ns):
    j = client.cancel(ns.id)
    note = " (stopping)" if j.get("state") not in ("CANCEL", "COMPLETE", "ERROR") else ""
    print("job %s %s%s" % (j.get("id"), j.get("state"), note))
    return 0


def cmd_delete(client, ns):
    client.delete(ns.id)
    return 0


def cmd_jobs(client, ns):
    js = client.jobs(state=ns.state, service=ns.service, limit=ns.limit)
    if ns.json:
        print_json(js)
        return 0
    print("%6s  %-8s  %-7s  %-20s  %s" % ("ID", "STATE", "SERVICE", "SUBMITTED", "NAME"))
    for j in js:
        print("%6s  %-8s  %-7s  %-20s  %s" % (j["id"], j["state"], j["service"], j["submitted"][:19], j.get("name", "")))
    return 0


COMMANDS = {"status": cmd_status, "wait": cmd_wait, "results": cmd_results, "files": cmd_files,
            "download": cmd_download, "cancel": cmd_cancel, "delete": cmd_delete, "jobs": cmd_jobs}


def print_json(doc):
    print(json.dumps(doc, indent=2))
