"""A client of the old Bumps job-queue routes, for bumpserve's tests.

    oldclient.py URL USER TOKEN COMMAND [ARGS]

COMMAND is one of: submit REQUEST_JSON, jobs [STATUS], info ID, status ID,
results ID, wait ID [POLL] [TIMEOUT], stop ID, delete ID, files ID,
file ID NAME. Each prints, as one JSON line, exactly the fields the old
client reads from the answer; any answer but 200 exits 1 with the code.
"""

import json
import sys
import time

from oldhttp import Remote, ServerError


def main(url, user, token, command, *args):
    r = Remote(url, user, token)
    if command == "submit":
        ans = r.post_json("/jobs.json", json.loads(args[0]))
        return {"id": ans["id"], "job": ans["job"]}
    if command == "jobs":
        path = "/jobs/%s.json" % args[0].lower() if args else "/jobs.json"
        return r.get(path)["jobs"]
    if command == "info":
        ans = r.get("/jobs/%s.json" % args[0])
        return {"id": ans["id"], "job": ans["job"]}
    if command == "status":
        ans = r.get("/jobs/%s/status.json" % args[0])
        return {"id": ans["id"], "status": ans["status"]}
    if command == "results":
        return r.get("/jobs/%s/results.json" % args[0])
    if command == "wait":
        poll = float(args[1]) if len(args) > 1 else 0.2
        deadline = time.time() + (float(args[2]) if len(args) > 2 else 60)
        while True:
            ans = r.get("/jobs/%s/results.json" % args[0])
            if ans["status"] not in ("PENDING", "ACTIVE"):
                return ans
            if time.time() > deadline:
                raise IOError("job %s is still %s" % (args[0], ans["status"]))
            time.sleep(poll)
    if command == "stop":
        return r.call("POST", "/jobs/%s?action=stop" % args[0])
    if command == "delete":
        return r.call("DELETE", "/jobs/%s.json" % args[0])["jobs"]
    if command == "files":
        return r.get("/jobs/%s/data/index.json" % args[0])["files"]
    if command == "file":
        resp, content = r.http.request("%s/jobs/%s/data/%s" % (r.url, args[0], args[1]), "GET")
        if resp["status"] != "200":
            raise ServerError(resp["status"], content.decode())
        return content.decode()
    raise SystemExit("unknown command %r" % command)


if __name__ == "__main__":
    try:
        print(json.dumps(main(*sys.argv[1:])))
    except ServerError as e:
        print(json.dumps({"code": int(e.code)}))
        sys.stderr.write("%s\n" % e)
        sys.exit(1)
