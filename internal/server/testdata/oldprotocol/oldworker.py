"""A worker of the old Bumps job-queue protocol, for bumpserve's tests.

    oldworker.py URL USER TOKEN QUEUE [--poll S] [--jobs N] [--store DIR]
    oldworker.py URL USER TOKEN post QUEUE ID RESULTS_JSON

It asks POST /jobs/nextjob.json for work, runs each job's "service" in a
child process, polls GET /jobs/ID/status.json while it runs (stopping the
job once the status is no longer ACTIVE, and fetching the next job ahead
meanwhile), then posts the results document and every file the job wrote
to POST /jobs/ID/postjob. After N posted jobs (default: never) it exits.
The second form posts one results document by hand and prints the code.
Its log, one line per event, goes to standard error.
"""

import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import traceback

from oldhttp import Remote, ServerError

RESULTS = "results.json"  # what the child leaves for the parent


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# The services: each takes the request as submitted and returns the result.
def count(request):
    with open("count.txt", "w") as f:
        f.write("%d\n" % request["data"])
    return sum(1 for _ in range(request["data"]))


def snooze(request):
    end = time.time() + float(request["data"])
    parent = os.getppid()
    while time.time() < end:
        if os.getppid() != parent:  # the worker died: so does its job
            os._exit(1)
        time.sleep(0.05)
    return "rested"


def fail(request):
    raise ValueError(request["data"])


SERVICES = {"count": count, "snooze": snooze, "fail": fail}


def run(path, request):
    """The child: run the service in the job's directory and leave the
    results document there."""
    os.chdir(path)
    try:
        service = SERVICES.get(request["service"])
        if service is None:
            raise ValueError("service <%s> not available" % request["service"])
        doc = {"status": "COMPLETE", "result": service(request)}
    except Exception as e:
        doc = {"status": "ERROR", "error": "%s: %s" % (type(e).__name__, e), "trace": traceback.format_exc()}
    with open(RESULTS, "w") as f:
        json.dump(doc, f)


class Worker:
    def __init__(self, remote, queue, poll, store):
        self.remote, self.queue, self.poll, self.store = remote, queue, poll, store
        self.ahead = {"request": None}

    def nextjob(self):
        try:
            return self.remote.post_json("/jobs/nextjob.json", {"queue": self.queue})
        except Exception as e:
            log("nextjob failed: %s" % e)
            return {"request": None}

    def process(self, jobid, request):
        path = os.path.join(self.store, str(jobid))
        os.makedirs(path, exist_ok=True)
        child = multiprocessing.Process(target=run, args=(path, request))
        child.start()
        stopped = False
        while True:
            child.join(self.poll)
            if not child.is_alive():
                break
            try:
                status = self.remote.get("/jobs/%s/status.json" % jobid)["status"]
            except Exception as e:  # the server may be away: keep running
                log("status of job %s failed: %s" % (jobid, e))
                status = "ACTIVE"
            if status != "ACTIVE":
                log("job %s is %s: stopping it" % (jobid, status))
                child.terminate()
                child.join()
                stopped = True
                break
            if not self.ahead["request"]:
                self.ahead = self.nextjob()
                if self.ahead["request"]:
                    log("fetched job %s ahead" % self.ahead["id"])
        done = os.path.join(path, RESULTS)
        if os.path.exists(done):
            with open(done) as f:
                doc = json.load(f)
            os.unlink(done)
        elif stopped:
            doc = {"status": "CANCEL", "message": "Job canceled"}
        else:
            doc = {"status": "ERROR", "message": "Results not found"}
        return doc, path

    def post(self, jobid, doc, path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path))
        try:
            # On a connection of its own, as the original posts from its
            # thread while the next job runs.
            self.remote.private().post_form("/jobs/%s/postjob" % jobid, {"queue": self.queue, "results": json.dumps(doc)}, files)
            log("posted job %s %s" % (jobid, doc["status"]))
        except ServerError as e:
            log("posting job %s refused: %s" % (jobid, e))

    def serve(self, jobs):
        posting = []
        while jobs is None or len(posting) < jobs:
            if not self.ahead["request"]:
                self.ahead = self.nextjob()
            if not self.ahead["request"]:
                time.sleep(self.poll)
                continue
            jobid, request = self.ahead["id"], self.ahead["request"]
            self.ahead = {"request": None}
            log("running job %s (%s)" % (jobid, request["service"]))
            doc, path = self.process(jobid, request)
            t = threading.Thread(target=self.post, args=(jobid, doc, path))
            t.start()
            posting.append(t)
        for t in posting:
            t.join()


def main(argv):
    url, user, token = argv[:3]
    remote = Remote(url, user, token)
    if argv[3] == "post":
        queue, jobid, doc = argv[4:7]
        try:
            remote.post_form("/jobs/%s/postjob" % jobid, {"queue": queue, "results": doc}, [])
            print(json.dumps({"code": 200}))
        except ServerError as e:
            print(json.dumps({"code": int(e.code)}))
        return
    opts = dict(zip(argv[4::2], argv[5::2]))
    store = opts.get("--store") or tempfile.mkdtemp(prefix="oldworker-")
    w = Worker(remote, argv[3], float(opts.get("--poll", "0.2")), store)
    jobs = int(opts["--jobs"]) if "--jobs" in opts else None
    log("old worker on queue %s" % argv[3])
    w.serve(jobs)


if __name__ == "__main__":
    main(sys.argv[1:])
