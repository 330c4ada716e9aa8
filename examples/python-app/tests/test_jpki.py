"""The application's own tests. They need a card: run them under mynasim exec, which puts a
simulated card in a reader of its own (run-tests.sh)."""

import unittest

from myapp import jpki


class CardTests(unittest.TestCase):
    def setUp(self):
        self.card = jpki.Card()

    def tearDown(self):
        self.card.close()

    def test_reads_the_authentication_certificate(self):
        cert = self.card.auth_certificate()
        self.assertEqual(cert[:2], b"\x30\x82")
        self.assertEqual(len(cert), 4 + int.from_bytes(cert[2:4], "big"))

    def test_the_retry_query_costs_nothing(self):
        before = self.card.tries_left()
        self.assertEqual(self.card.tries_left(), before)

    def test_signs_with_the_right_pin(self):
        signature = self.card.sign("1234", b"hello")
        self.assertEqual(len(signature), 256)


if __name__ == "__main__":
    unittest.main()
