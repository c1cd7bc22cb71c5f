"""What the tests share: the server the Go test started (from the
environment), models to fit, and a way to run the command line."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # clients/python

SERVER = os.environ.get("BUMPSERVE_SERVER", "")
TOKEN = os.environ.get("BUMPSERVE_TOKEN", "")
OTHER_TOKEN = os.environ.get("BUMPSERVE_TEST_OTHER_TOKEN", "")
ADMIN_TOKEN = os.environ.get("BUMPSERVE_TEST_ADMIN_TOKEN", "")
TLS_SERVER = os.environ.get("BUMPSERVE_TEST_TLS_SERVER", "")
CA = os.environ.get("BUMPSERVE_TEST_CA", "")
MODELS = os.environ.get("BUMPSERVE_TEST_MODELS", "")
BUMPS = os.environ.get("BUMPSERVE_TEST_BUMPS", "/usr/bin/bumps")
PYTHON = os.environ.get("BUMPSERVE_TEST_PYTHON", sys.executable)

# Small fits, so the suite stays quick.
DREAM = ["--fit=dream", "--samples=1000", "--burn=20", "--seed=3"]
AMOEBA = ["--fit=amoeba", "--steps=40", "--seed=1"]


class ServerTest(unittest.TestCase):
    """A test against the running server; fails (not skips) without one,
    since these tests are run by clients/python/python_test.go."""

    def setUp(self):
        if not (SERVER and TOKEN and MODELS):
            self.fail("run these tests through `go test ./clients/python/` (it starts the server "
                      "and sets BUMPSERVE_SERVER, BUMPSERVE_TOKEN, BUMPSERVE_TEST_MODELS)")
        tmp = tempfile.mkdtemp(prefix="bumpserve-pytest-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.tmp = tmp

    def model(self, *names):
        """Copy models or data from the test models into the temp dir;
        return their paths there."""
        out = []
        for n in names:
            dst = os.path.join(self.tmp, n)
            shutil.copy(os.path.join(MODELS, n), dst)
            out.append(dst)
        return out

    def cli(self, *args, env=None, cwd=None):
        """Run `python3 -m bumpserve_client ARGS` from the checkout and
        return the completed process (text output)."""
        e = dict(os.environ, PYTHONPATH=HERE)
        if env:
            e.update(env)
            for k in [k for k, v in e.items() if v is None]:
                del e[k]
        return subprocess.run([PYTHON, "-m", "bumpserve_client", *args], env=e, cwd=cwd or self.tmp,
                              capture_output=True, text=True, timeout=600)

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code,
                         "exit %d, want %d\nstdout:\n%s\nstderr:\n%s" % (proc.returncode, code, proc.stdout, proc.stderr))
