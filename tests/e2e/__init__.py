"""End-to-end tests on real kwokctl clusters (see docs/testing.md)."""
