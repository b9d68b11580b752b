"""Tests of the testkit itself: the checker, the brute force and the harness helpers."""
