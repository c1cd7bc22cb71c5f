"""HTTPS with a private certificate authority."""

import bumpserve_client as bs

from .support import CA, TLS_SERVER, ServerTest


class TLSTest(ServerTest):
    def setUp(self):
        super().setUp()
        if not (TLS_SERVER and CA):
            self.fail("BUMPSERVE_TEST_TLS_SERVER and BUMPSERVE_TEST_CA are not set")

    def test_private_ca(self):
        c = bs.Client(server=TLS_SERVER, ca=CA)
        self.assertEqual(c.whoami()["name"], "alice")
        # A job followed over HTTPS: the event stream works through TLS.
        j = c.submit_spec("sleep", {"seconds": 0.2})
        self.assertEqual(c.wait(j)["state"], "COMPLETE")

        p = self.cli("status", str(j["id"]), "--server", TLS_SERVER, "--ca", CA)
        self.assertExit(p, 0)
        self.assertIn('"state": "COMPLETE"', p.stdout)
        p = self.cli("status", str(j["id"]), "--server", TLS_SERVER, env={"BUMPSERVE_CA_FILE": CA})
        self.assertExit(p, 0)

    def test_untrusted_certificate(self):
        with self.assertRaises(bs.ConnectionFailed) as cm:
            bs.Client(server=TLS_SERVER, ca="").whoami()
        self.assertIn("certificate verify failed", str(cm.exception))
        self.assertIn("--ca FILE", str(cm.exception))
        p = self.cli("jobs", "--server", TLS_SERVER)
        self.assertExit(p, 1)
        self.assertIn("certificate verify failed", p.stderr)

    def test_unreadable_ca(self):
        with self.assertRaises(bs.ConfigError) as cm:
            bs.Client(server=TLS_SERVER, ca=self.tmp + "/nothere.pem")
        self.assertIn("ca: cannot read", str(cm.exception))
