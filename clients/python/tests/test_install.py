"""The package installs with pip into a venv, offline, and works from
there: the module and the bumpserve-client command."""

import os
import shutil
import subprocess

from .support import HERE, PYTHON, ServerTest


class InstallTest(ServerTest):
    def test_pip_install_into_venv(self):
        # A copy, so the build leaves nothing in the checkout.
        src = os.path.join(self.tmp, "src")
        shutil.copytree(HERE, src, ignore=shutil.ignore_patterns("tests", "*.go", "__pycache__", "build", "*.egg-info"))
        venv = os.path.join(self.tmp, "v")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PIP_NO_INDEX"] = "1"  # nothing may come from a package index
        run = lambda *a: subprocess.run(a, env=env, cwd=self.tmp, capture_output=True, text=True, timeout=300)
        p = run(PYTHON, "-m", "venv", "--system-site-packages", venv)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run(venv + "/bin/pip", "install", "--no-build-isolation", src)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Successfully installed bumpserve-client-", p.stdout)

        p = run(venv + "/bin/python", "-c", "import bumpserve_client as b; print(b.__file__, b.__version__)")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(venv, p.stdout)
        p = run(venv + "/bin/bumpserve-client", "jobs")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("STATE", p.stdout)
        p = run(venv + "/bin/python", "-m", "bumpserve_client", "--version")
        self.assertEqual(p.returncode, 0, p.stderr)
