"""The Python functions and their exceptions, against the real server."""

import bumpserve_client as bs

from .support import OTHER_TOKEN, SERVER, ServerTest


def sleep_job(client, seconds):
    return client.submit_spec("sleep", {"seconds": seconds})


def wait_active(client, job):
    """Follow the job's events until it runs."""
    for j in client.events(job):
        if j["state"] != "PENDING":
            return j
    raise AssertionError("job %s ended before it ran" % job["id"])


class ErrorsTest(ServerTest):
    def test_bad_token(self):
        with self.assertRaises(bs.Unauthorized) as cm:
            bs.jobs(token="bst_wrong")
        self.assertEqual(cm.exception.status, 401)
        self.assertEqual(cm.exception.message, "invalid or revoked token")
        self.assertEqual(str(cm.exception), "HTTP 401: invalid or revoked token")

    def test_unknown_job(self):
        with self.assertRaises(bs.NotFound) as cm:
            bs.job(999999)
        self.assertEqual(cm.exception.status, 404)
        self.assertEqual(cm.exception.message, 'no job "999999"')
        with self.assertRaises(bs.NotFound):
            bs.results(999999)

    def test_someone_elses_job_is_not_found(self):
        j = sleep_job(bs.Client(), 0)
        with self.assertRaises(bs.NotFound):
            bs.job(j["id"], token=OTHER_TOKEN)
        with self.assertRaises(bs.NotFound):
            bs.cancel(j["id"], token=OTHER_TOKEN)

    def test_results_before_the_end(self):
        c = bs.Client()
        j = sleep_job(c, 30)
        self.addCleanup(c.cancel, j)
        with self.assertRaises(bs.Conflict) as cm:
            c.results(j)
        self.assertIn("results come when it completes", cm.exception.message)

    def test_bad_submission(self):
        (model,) = self.model("line.py")
        with self.assertRaises(bs.BadRequest) as cm:
            bs.submit(model, fit="dream", samples=-5)
        self.assertEqual(cm.exception.status, 400)
        self.assertIn("spec.options.samples: -5 is not a number from 1", cm.exception.message)
        with self.assertRaises(bs.ConfigError) as cm:
            bs.submit(model, ["nothere.txt"])
        self.assertIn("nothere.txt", str(cm.exception))

    def test_unreachable_server(self):
        with self.assertRaises(bs.ConnectionFailed) as cm:
            bs.jobs(server="http://127.0.0.1:9")
        self.assertIn("cannot reach http://127.0.0.1:9", str(cm.exception))
        self.assertIsNone(cm.exception.status)


class LifecycleTest(ServerTest):
    def test_submit_wait_results_download(self):
        model, data = self.model("gpeak.py", "gpeak.txt")
        job = bs.submit(model, [data], fit="amoeba", steps=40, seed=2)
        self.assertEqual(job["service"], "bumps")
        self.assertEqual(job["name"], "gpeak.py")
        seen = []
        final = bs.wait(job, progress=lambda j: seen.append(j["state"]))
        self.assertEqual(final["state"], "COMPLETE")
        self.assertEqual(seen[-1], "COMPLETE")
        res = bs.results(job["id"])
        self.assertEqual(set(res["parameters"]), {"height", "center", "width", "background"})
        written = bs.download(str(job["id"]), self.tmp + "/out")
        names = sorted(p.rsplit("/", 1)[1] for p in written)
        self.assertIn("gpeak.par", names)
        self.assertIn("gpeak.py", names)  # bumps keeps a copy of the model in its store
        with open(self.tmp + "/out/gpeak.par") as f:
            par = dict(line.split() for line in f)
        self.assertAlmostEqual(float(par["center"]), res["parameters"]["center"]["value"], places=9)

    def test_cancel(self):
        c = bs.Client()
        j = sleep_job(c, 300)
        wait_active(c, j)
        after = c.cancel(j)
        self.assertEqual(after["id"], j["id"])
        with self.assertRaises(bs.JobFailed) as cm:
            c.wait(j)
        self.assertEqual(cm.exception.state, "CANCEL")
        self.assertIn("ended in CANCEL", str(cm.exception))
        with self.assertRaises(bs.Conflict) as cm:
            c.cancel(j)
        self.assertEqual(cm.exception.message, "job is already finished")

        # The command line's cancel, on a bumps fit that would run long.
        model, fn = self.model("slow.py", "linefn.py")
        k = c.submit(model, [fn], fit="dream", samples=1000000, burn=1000)
        wait_active(c, k)
        p = self.cli("cancel", str(k["id"]))
        self.assertExit(p, 0)
        self.assertRegex(p.stdout, r"^job %d (CANCEL|ACTIVE \(stopping\))" % k["id"])
        with self.assertRaises(bs.JobFailed) as cm:
            c.wait(k["id"])
        self.assertEqual(cm.exception.state, "CANCEL")

    def test_jobs_by_state(self):
        c = bs.Client()
        done = sleep_job(c, 0)
        c.wait(done)
        gone = sleep_job(c, 300)
        c.cancel(gone)
        with self.assertRaises(bs.JobFailed):
            c.wait(gone)

        complete = c.jobs(state="COMPLETE")
        self.assertIn(done["id"], [j["id"] for j in complete])
        self.assertNotIn(gone["id"], [j["id"] for j in complete])
        self.assertEqual({j["state"] for j in complete}, {"COMPLETE"})
        self.assertIn(gone["id"], [j["id"] for j in bs.jobs(state="cancel")])
        self.assertEqual(len(c.jobs(limit=1)), 1)
        self.assertEqual({j["owner"] for j in c.jobs()}, {"alice"})
        with self.assertRaises(bs.BadRequest) as cm:
            c.jobs(state="FINISHED")
        self.assertIn('unknown state "FINISHED"', cm.exception.message)

        p = self.cli("jobs", "--state=COMPLETE")
        self.assertExit(p, 0)
        self.assertRegex(p.stdout, r"\n *%d  COMPLETE" % done["id"])
        self.assertNotRegex(p.stdout, r"\n *%d  " % gone["id"])

    def test_server_from_argument(self):
        self.assertEqual(bs.Client(server=SERVER).whoami()["name"], "alice")
