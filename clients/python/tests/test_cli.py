"""The command line, end to end, against the real server."""

import json
import os
import subprocess

from .support import AMOEBA, BUMPS, DREAM, ServerTest


def read_par(path):
    """A .par file as {name: the number's text}: identical means the same
    digits, not merely close."""
    out = {}
    with open(path) as f:
        for line in f:
            name, value = line.split()
            out[name] = value
    return out


class FitTest(ServerTest):
    def test_fit_writes_what_bumps_writes(self):
        """The bumps-like command shows progress, prints bumps' output and
        the parameters, and --store gets the files a hand run of bumps
        writes with the same seed, with the same numbers."""
        model, data = self.model("gpeak.py", "gpeak.txt")
        p = self.cli(model, data, *DREAM, "--store=out")
        self.assertExit(p, 0)
        self.assertRegex(p.stderr, r"job \d+ ACTIVE")
        self.assertRegex(p.stderr, r"job \d+ COMPLETE")
        self.assertIn("wrote ", p.stderr)
        self.assertIn("[chisq=", p.stdout)  # bumps' own console output
        self.assertRegex(p.stdout, r"\nheight +4\d\.\d+ ")

        here = os.path.join(self.tmp, "byhand")
        os.mkdir(here)
        self.model("gpeak.py", "gpeak.txt")
        subprocess.run([BUMPS, "gpeak.py", *DREAM, "--store=" + here + "/out", "--batch"], cwd=self.tmp,
                       check=True, capture_output=True, timeout=300)
        got, want = sorted(os.listdir(os.path.join(self.tmp, "out"))), sorted(os.listdir(here + "/out"))
        self.assertEqual(got, want)
        for name in ("gpeak.par", "gpeak.err", "gpeak-err.json", "gpeak.dat", "gpeak-model.png"):
            self.assertIn(name, got)
        self.assertEqual(read_par(os.path.join(self.tmp, "out", "gpeak.par")), read_par(here + "/out/gpeak.par"))

        # A store that holds files is refused, as bumps refuses it.
        again = self.cli(model, data, *DREAM, "--store=out")
        self.assertExit(again, 2)
        self.assertIn("--overwrite", again.stderr)

    def test_no_wait_then_follow(self):
        """--no-wait prints only the id; status, wait, results, files and
        download then find the job by it."""
        (model,) = self.model("line.py")
        p = self.cli(model, *AMOEBA, "--no-wait", "--", "3")
        self.assertExit(p, 0)
        ident = p.stdout.strip()
        self.assertRegex(ident, r"^\d+$")

        st = self.cli("status", ident)
        self.assertExit(st, 0)
        doc = json.loads(st.stdout)
        self.assertEqual(doc["id"], int(ident))
        # Options reach the spec as bumps' typed values; words after -- are the model's.
        self.assertEqual(doc["spec"], {"model": "line.py", "args": ["3"], "fitter": "amoeba",
                                       "options": {"steps": 40, "seed": 1}})

        w = self.cli("wait", ident, "--store", "store", "--json", "--quiet")
        self.assertExit(w, 0)
        res = json.loads(w.stdout)
        self.assertEqual(res["fitter"], "amoeba")
        self.assertEqual(set(res["parameters"]), {"slope", "intercept"})
        self.assertEqual(w.stderr.strip(), "wrote %d files to store" % len(os.listdir(os.path.join(self.tmp, "store"))))
        self.assertIn("line.par", os.listdir(os.path.join(self.tmp, "store")))

        r = self.cli("results", ident)
        self.assertExit(r, 0)
        self.assertEqual(json.loads(r.stdout)["parameters"], res["parameters"])
        f = self.cli("files", ident)
        self.assertExit(f, 0)
        self.assertIn("output/store/line.par", f.stdout)
        d = self.cli("download", ident, "all", "--all")
        self.assertExit(d, 0)
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "all", "input", "line.py")))
        self.assertTrue(os.path.isfile(os.path.join(self.tmp, "all", "output", "store", "line.par")))

    def test_failing_model(self):
        """A model that fails ends the command with status 1 and bumps'
        reason."""
        (model,) = self.model("raises.py")
        p = self.cli(model, *AMOEBA, "--quiet")
        self.assertExit(p, 1)
        self.assertRegex(p.stderr, r"job \d+ ended in ERROR: .*this model refuses to load")


class UsageTest(ServerTest):
    def test_bad_usage_is_status_2(self):
        cases = [
            ((), "missing the model script"),
            (("data.txt",), "not a Python model script"),
            (("nothere.py",), "nothere.py: no such file"),
            (("-x",), "unknown option"),
            (("status", "abc"), "is not a job id"),
            (("m.py", "--no-wait", "--store=out"), "--store with --no-wait"),
        ]
        for args, want in cases:
            with self.subTest(args=args):
                p = self.cli(*args)
                self.assertExit(p, 2)
                self.assertIn(want, p.stderr)

    def test_refused_option_is_status_2_with_the_servers_text(self):
        (model,) = self.model("line.py")
        p = self.cli(model, "--fit=amoeba", "--bogus=3")
        self.assertExit(p, 2)
        self.assertIn("HTTP 400: spec.options.bogus: unknown option (accepted: ", p.stderr)
        p = self.cli(model, "--fit=amoebae")
        self.assertExit(p, 2)
        self.assertIn('spec.fitter: "amoebae" is not a bumps fitter', p.stderr)

    def test_no_token(self):
        p = self.cli("jobs", env={"BUMPSERVE_TOKEN": None})
        self.assertExit(p, 2)
        self.assertIn("token: missing", p.stderr)
        p = self.cli("jobs", "--token", "bst_not_a_token")
        self.assertExit(p, 1)
        self.assertIn("HTTP 401: invalid or revoked token", p.stderr)
