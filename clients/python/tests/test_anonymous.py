"""Anonymous mode: submit without a token; the capability is the job's
only handle."""

import os

import bumpserve_client as bs

from .support import AMOEBA, SERVER, ServerTest

NO_TOKEN = {"BUMPSERVE_TOKEN": None}


class AnonymousTest(ServerTest):
    def test_functions(self):
        model, data = self.model("gpeak.py", "gpeak.txt")
        job = bs.submit(model, [data], fit="amoeba", steps=40, seed=1, anonymous=True, token="")
        self.assertTrue(job["capability"].startswith("cap_"))
        self.assertEqual(job["owner"], "anonymous")
        anon = bs.Client(anonymous=True)
        self.assertEqual(anon.wait(job)["state"], "COMPLETE")
        res = anon.results(job["capability"])
        self.assertIn("center", res["parameters"])
        anon.download(SERVER + job["url"], self.tmp + "/out")
        self.assertIn("gpeak.par", os.listdir(self.tmp + "/out"))

        # The id alone reaches nothing without the owner's token, and an
        # anonymous client has no listing.
        with self.assertRaises(bs.NotFound):
            bs.job(job["id"])
        with self.assertRaises(bs.ConfigError):
            anon.jobs()
        with self.assertRaises(bs.NotFound):
            anon.job("cap_" + "A" * 43)

    def test_command_line(self):
        (model,) = self.model("line.py")
        p = self.cli(model, *AMOEBA, "--anonymous", "--no-wait", env=NO_TOKEN)
        self.assertExit(p, 0)
        url = p.stdout.strip()
        self.assertTrue(url.startswith(SERVER + "/api/v1/anonymous/jobs/cap_"), url)
        # The capability URL brings its server along.
        w = self.cli("wait", url, "--store=out", "--quiet", env={"BUMPSERVE_TOKEN": None, "BUMPSERVE_SERVER": None})
        self.assertExit(w, 0)
        self.assertIn("slope", w.stdout)
        self.assertIn("line.par", os.listdir(self.tmp + "/out"))
        p = self.cli(model, *AMOEBA, "--anonymous", "--quiet", env=NO_TOKEN)
        self.assertExit(p, 0)
        self.assertIn("anonymous job: %s/api/v1/anonymous/jobs/cap_" % SERVER, p.stderr)
