"""The shipped rules pass `promtool check rules`, their unit tests pass `promtool test rules`,
and every alert has at least one unit test. promtool is Debian's `prometheus` package."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.test_metric_names import RULES, rule_groups

pytestmark = pytest.mark.slow

UNIT_TESTS = Path(__file__).with_name("prometheus-rules.test.yaml")


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool not found: apt-get install prometheus (Debian) brings it")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_rules_pass_promtool_check(promtool: str) -> None:
    result = _run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass(promtool: str) -> None:
    result = _run(promtool, "test", "rules", str(UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    alerts = {
        rule["alert"] for group in rule_groups() for rule in group["rules"] if "alert" in rule
    }
    cases = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
    tested = {check["alertname"] for case in cases for check in case.get("alert_rule_test", [])}
    assert alerts - tested == set()
