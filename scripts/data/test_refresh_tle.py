#!/usr/bin/env python3
"""Offline tests of refresh_tle.py: what it accepts from CelesTrak and what it refuses.

Run: python3 -m unittest discover -s scripts/data -p 'test_*.py'   (scripts/test.sh does)
"""
import os
import unittest

import refresh_tle

SHIPPED = os.path.join(refresh_tle.ROOT, "services", "iss-distance", "data", "iss.tle")


class RefreshTleTest(unittest.TestCase):
    def setUp(self):
        with open(SHIPPED, encoding="ascii") as f:
            self.text = f.read()

    def test_the_shipped_elements_parse_with_their_epoch(self):
        lines = refresh_tle.parse(self.text)
        self.assertEqual(refresh_tle.epoch(lines[1]).strftime("%Y-%m-%dT%H:%M:%S"), "2026-10-09T19:42:49")

    def test_a_corrupted_line_or_another_satellite_is_refused(self):
        lines = self.text.splitlines()
        corrupted = lines[1][:30] + ("1" if lines[1][30] != "1" else "2") + lines[1][31:]
        for text in ["\n".join([lines[0], corrupted, lines[2]]),
                     "\n".join([lines[0], lines[1].replace("25544", "25545"), lines[2]]),
                     "<html>rate limited</html>"]:
            with self.assertRaises(SystemExit):
                refresh_tle.parse(text)


if __name__ == "__main__":
    unittest.main()
