"""Series, sharing with groups, copies, pins, stop and continue, usage and
notifications, through the Python functions against the real server."""

import csv
import io
import math
import os
import random
import time

import bumpserve_client as bs

from .support import ADMIN_TOKEN, OTHER_TOKEN, ServerTest

# A native spec whose one dataset reads a file; each fit of a series
# reads its own file instead (as cmd/bumpserve/series_test.go's).
SERIES_MODEL = {
    "fitter": "lm",
    "parameters": {"a": {"value": 1, "min": 0, "max": 20}, "b": {"value": 0.1, "min": 0, "max": 5}},
    "datasets": [{"model": "a*exp(-b*x)", "file": "data.txt", "columns": ["x", "y", "dy"]}],
}


def write_decays(folder, n):
    """n data files of decays whose amplitude and rate grow along the
    series, named decay_<T>K.txt for T = 100, 110, ..."""
    rng = random.Random(7)
    paths = []
    for i in range(n):
        a, b = 2 + 0.25 * i, 0.2 + 0.02 * i
        lines = []
        for k in range(25):
            x = 0.4 * k
            lines.append("%g %.6f 0.02\n" % (x, a * math.exp(-b * x) + rng.gauss(0, 0.02)))
        p = os.path.join(folder, "decay_%dK.txt" % (100 + 10 * i))
        with open(p, "w") as f:
            f.writelines(lines)
        paths.append(p)
    return paths


def sleep_job(client, seconds, **kw):
    return client.submit_spec("sleep", {"seconds": seconds}, **kw)


def dream_spec(samples):
    """A native DREAM fit of 25 points, seeded; many samples make it run
    until stopped."""
    rng = random.Random(3)
    x = [0.4 * k for k in range(25)]
    y = [2 * math.exp(-0.2 * v) + rng.gauss(0, 0.02) for v in x]
    return {
        "fitter": "dream",
        "options": {"seed": 5, "samples": samples, "burn": 20},
        "parameters": {"a": {"value": 1, "min": 0, "max": 20}, "b": {"value": 0.1, "min": 0, "max": 5}},
        "datasets": [{"model": "a*exp(-b*x)", "x": x, "y": y, "dy": [0.02] * len(x)}],
    }


def eventually(what, cond, timeout=20):
    """Poll cond until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %g s" % (what, timeout))
        time.sleep(0.1)


class SeriesTest(ServerTest):
    def test_native_series(self):
        c = bs.Client()
        files = write_decays(self.tmp, 3)
        parent = c.submit_spec("fit", SERIES_MODEL, name="decays", series=files, series_x=r"name:_(\d+)K")
        self.assertEqual(parent["series"]["files"], ["decay_100K.txt", "decay_110K.txt", "decay_120K.txt"])
        self.assertEqual(parent["series"]["x"], r"name:_(\d+)K")
        final = c.wait(parent, timeout=120)
        self.assertEqual(final["state"], "COMPLETE")
        self.assertIn("3 of 3 fits completed", final["reason"])
        # The event stream's record names the children, as the job's does.
        children = final["series"]["children"]
        self.assertEqual(len(children), 3)
        self.assertEqual(c.job(parent)["series"]["children"], children)

        tab = bs.series(parent["id"])
        self.assertEqual(tab["parent"], parent["id"])
        self.assertEqual(tab["state"], "COMPLETE")
        self.assertEqual(tab["parameters"], ["a", "b"])
        self.assertEqual([r["x"] for r in tab["rows"]], [100, 110, 120])
        self.assertEqual([r["file"] for r in tab["rows"]], ["decay_100K.txt", "decay_110K.txt", "decay_120K.txt"])
        self.assertEqual([r["job"] for r in tab["rows"]], children)
        for i, r in enumerate(tab["rows"]):
            self.assertEqual(r["state"], "COMPLETE")
            self.assertAlmostEqual(r["params"]["a"]["value"], 2 + 0.25 * i, delta=0.1)
            self.assertAlmostEqual(r["params"]["b"]["value"], 0.2 + 0.02 * i, delta=0.02)
            self.assertEqual(c.job(r["job"])["parent"], parent["id"])

        text = c.series_csv(parent)
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows[0], ["index", "file", "x", "job", "state", "a", "a_stderr", "b", "b_stderr",
                                   "chisq", "reduced_chisq", "reason"])
        self.assertEqual(len(rows), 4)
        self.assertEqual([r[1] for r in rows[1:]], [r["file"] for r in tab["rows"]])
        self.assertEqual([float(r[2]) for r in rows[1:]], [100, 110, 120])
        self.assertAlmostEqual(float(rows[1][5]), tab["rows"][0]["params"]["a"]["value"], places=6)

    def test_chained_series_and_its_refusals(self):
        c = bs.Client()
        files = write_decays(self.tmp, 2)
        parent = c.submit_spec("fit", SERIES_MODEL, series=files, chain=True)
        self.assertTrue(parent["series"]["chain"])
        self.assertEqual(c.wait(parent, timeout=120)["state"], "COMPLETE")
        self.assertEqual([r["x"] for r in c.series(parent)["rows"]], [0, 1])

        # The server's refusals arrive with its message.
        with self.assertRaises(bs.BadRequest) as cm:
            c.submit_spec("fit", SERIES_MODEL, series=files, series_x=r"name:_(\d+)Q")
        self.assertIn("series.x", cm.exception.message)
        # A job that is not a series has no table.
        j = sleep_job(c, 0)
        with self.assertRaises(bs.NotFound):
            c.series(j)

    def test_bad_local_input(self):
        c = bs.Client()
        os.makedirs(os.path.join(self.tmp, "one"))
        os.makedirs(os.path.join(self.tmp, "two"))
        a, b = os.path.join(self.tmp, "one", "d.txt"), os.path.join(self.tmp, "two", "d.txt")
        for p in (a, b):
            with open(p, "w") as f:
                f.write("1 2 0.1\n")
        cases = [
            ("series", dict(series=[a, b])),
            ("series", dict(series=a)),
            ("series", dict(series=[])),
            ("series_x", dict(series_x="index")),
            ("notify", dict(notify="alice")),
            ("notify", dict(notify="ftp://example.org/x")),
            ("notify", dict(notify=5)),
            ("groups", dict(groups=[])),
            ("groups", dict(groups=[3])),
        ]
        for arg, kw in cases:
            with self.subTest(kw=kw), self.assertRaises(bs.ConfigError) as cm:
                c.submit_spec("fit", SERIES_MODEL, **kw)
            self.assertIn(arg, str(cm.exception))
        with self.assertRaises(bs.ConfigError) as cm:
            bs.submit(a, notify="nobody")
        self.assertIn("notify", str(cm.exception))
        with self.assertRaises(bs.ConfigError) as cm:
            c.share("cap_" + "x" * 20, "optics")
        self.assertIn("anonymous job", str(cm.exception))


class GroupsTest(ServerTest):
    def setUp(self):
        super().setUp()
        if not ADMIN_TOKEN:
            self.fail("BUMPSERVE_TEST_ADMIN_TOKEN is not set (python_test.go sets it)")

    def make_group(self, name, *members):
        """Make the group with the admin's token (only admins may)."""
        admin = bs.Client(token=ADMIN_TOKEN)
        try:
            admin.http.json("POST", "/api/v1/groups", {"name": name})
        except bs.Conflict:
            pass  # made by an earlier run of this test in the same server
        for m in members:
            admin.http.json("POST", "/api/v1/groups/%s/members/%s" % (name, m))

    def test_users_may_not_make_groups(self):
        with self.assertRaises(bs.Forbidden) as cm:
            bs.Client().http.json("POST", "/api/v1/groups", {"name": "mine"})
        self.assertEqual(cm.exception.status, 403)

    def test_share_read_copy_unshare(self):
        self.make_group("optics", "alice", "bob")
        alice, bob = bs.Client(), bs.Client(token=OTHER_TOKEN)
        j = sleep_job(alice, 0, name="scan")
        alice.wait(j)
        with self.assertRaises(bs.NotFound):
            bob.job(j)

        shared = alice.share(j, "optics")
        self.assertEqual(shared["groups"], ["optics"])
        self.assertEqual(bob.job(j)["owner"], "alice")
        with self.assertRaises(bs.Forbidden) as cm:
            bob.keep(j)
        self.assertIn("alice", cm.exception.message)
        with self.assertRaises(bs.Forbidden):
            bs.delete(j["id"], token=OTHER_TOKEN)

        mine = bob.copy(j, name="bob's scan")
        self.assertEqual((mine["owner"], mine["name"], mine["service"]), ("bob", "bob's scan", "sleep"))
        self.assertNotEqual(mine["id"], j["id"])
        self.assertEqual(bob.wait(mine)["state"], "COMPLETE")

        after = alice.unshare(j, ["optics"])
        self.assertNotIn("optics", after.get("groups") or [])
        with self.assertRaises(bs.NotFound):
            bob.job(j)
        with self.assertRaises(bs.NotFound):
            bob.copy(j)

        # Shared from the start.
        k = sleep_job(alice, 0, groups=["optics"])
        self.assertEqual(alice.job(k)["groups"], ["optics"])
        self.assertEqual(bob.job(k)["id"], k["id"])

    def test_share_refusals(self):
        c = bs.Client()
        j = sleep_job(c, 0)
        with self.assertRaises(bs.BadRequest) as cm:
            c.share(j, "nosuchgroup")
        self.assertIn('"nosuchgroup" is not a group of alice', cm.exception.message)
        with self.assertRaises(bs.BadRequest) as cm:
            sleep_job(c, 0, groups=["nosuchgroup"])
        self.assertIn("groups", cm.exception.message)
        with self.assertRaises(bs.NotFound):
            bs.share(j, "optics", token=OTHER_TOKEN)


class JobChangesTest(ServerTest):
    def test_copy_keep_priority(self):
        c = bs.Client()
        j = sleep_job(c, 0, name="nap", priority=-7)
        self.assertEqual(j["priority"], -7)
        self.assertFalse(j["keep"])
        c.wait(j)

        copied = bs.copy(j["id"])
        self.assertEqual(copied["name"], "nap (copy)")
        self.assertEqual(copied["spec"], {"seconds": 0})
        self.assertEqual(c.wait(copied)["state"], "COMPLETE")

        self.assertTrue(c.keep(j)["keep"])
        self.assertTrue(c.job(j)["keep"])
        self.assertFalse(bs.keep(j["id"], on=False)["keep"])
        self.assertFalse(c.job(j)["keep"])

    def test_stop_and_resume(self):
        c = bs.Client()
        # Not a native fit: the server says so.
        s = sleep_job(c, 0)
        c.wait(s)
        with self.assertRaises(bs.Conflict) as cm:
            c.stop(s)
        self.assertIn("stop early ends fits", cm.exception.message)
        with self.assertRaises(bs.Conflict):
            c.resume(s, 100)

        j = c.submit_spec("fit", dream_spec(50_000_000), name="long")
        eventually("the fit runs", lambda: c.job(j)["state"] == "ACTIVE", timeout=60)
        stopped = c.stop(j)
        self.assertEqual(stopped["id"], j["id"])
        final = c.wait(j, timeout=60)
        self.assertEqual(final["state"], "COMPLETE")
        self.assertTrue(c.results(j).get("stopped"))

        with self.assertRaises(bs.BadRequest) as cm:
            c.resume(j, 0)
        self.assertIn("samples", cm.exception.message)
        more = bs.resume(j["id"], 2000, name="more")
        self.assertNotEqual(more["id"], j["id"])
        self.assertEqual(more["name"], "more")
        self.assertEqual(c.wait(more, timeout=120)["state"], "COMPLETE")


class UsageNotifyTest(ServerTest):
    def test_usage(self):
        c = bs.Client()
        c.wait(sleep_job(c, 0))
        u = c.usage()
        self.assertEqual([line["user"] for line in u["users"]], ["alice"])
        self.assertGreaterEqual(u["users"][0]["jobs"], 1)
        self.assertIn("disk_quota_bytes", u)
        self.assertEqual(bs.usage(user="alice")["users"][0]["user"], "alice")
        with self.assertRaises(bs.Forbidden):
            c.usage(user="bob")

    def test_notify_at_submit(self):
        c = bs.Client()
        # notify="none": no notification at all.
        j = sleep_job(c, 0, notify="none")
        c.wait(j)
        self.assertEqual(c.notifications(j)["notifications"], [])

        # This server has no --allow-http-webhooks and no --smtp.
        with self.assertRaises(bs.BadRequest) as cm:
            sleep_job(c, 0, notify="http://hooks.example.org/x")
        self.assertIn("notify.webhook", cm.exception.message)
        self.assertIn("--allow-http-webhooks", cm.exception.message)
        with self.assertRaises(bs.BadRequest) as cm:
            sleep_job(c, 0, notify="alice@example.org")
        self.assertIn("notify.email: this server sends no email", cm.exception.message)

        # An https webhook is taken; the notifier refuses a loopback
        # receiver (no --allow-private-webhooks) and the log says why.
        k = sleep_job(c, 0, notify={"webhook": "https://127.0.0.1:9/hook"})
        c.wait(k)
        got = eventually("the notification is tried", lambda: [
            n for n in c.notifications(k)["notifications"] if n["status"] not in ("waiting", "sending")])
        self.assertEqual(got[0]["channel"], "webhook")
        self.assertEqual(got[0]["destination"], "https://127.0.0.1:9/hook")
        self.assertEqual(got[0]["status"], "failed")
        log = c.notifications(k)["log"]
        self.assertIn("--allow-private-webhooks", log[-1]["error"])
        with self.assertRaises(bs.NotFound):
            bs.notifications(k["id"], token=OTHER_TOKEN)

    def test_default_notify(self):
        c = bs.Client()
        self.addCleanup(c.set_my_notify)
        self.assertEqual(c.my_notify()["default"], {})
        got = c.set_my_notify(webhook="https://127.0.0.1:9/default")
        self.assertEqual(got["default"], {"webhook": "https://127.0.0.1:9/default"})
        self.assertEqual(bs.my_notify()["default"], {"webhook": "https://127.0.0.1:9/default"})
        with self.assertRaises(bs.BadRequest) as cm:
            c.set_my_notify(webhook="http://127.0.0.1:9/x")
        self.assertIn("notify.webhook", cm.exception.message)
        self.assertEqual(bs.set_my_notify()["default"], {})


class MPITest(ServerTest):
    def test_tasks_run_as_mpi_ranks(self):
        model, data = self.model("gpeak.py", "gpeak.txt")
        job = bs.submit(model, [data], fit="de", steps=20, seed=3, tasks=2)
        self.assertEqual(job["spec"]["resources"]["tasks"], 2)
        final = bs.wait(job, timeout=300)
        self.assertEqual(final["state"], "COMPLETE")
        log = bs.Client().read_file(job, "output/job.log").decode()
        self.assertIn("ran as 2 MPI ranks (bumps --mpi)", log)
        self.assertEqual(set(bs.results(job)["parameters"]), {"height", "center", "width", "background"})

    def test_tasks_with_parallel_refused(self):
        model, data = self.model("gpeak.py", "gpeak.txt")
        with self.assertRaises(bs.BadRequest) as cm:
            bs.submit(model, [data], fit="de", steps=20, tasks=2, parallel=2)
        self.assertIn("parallel", str(cm.exception))
