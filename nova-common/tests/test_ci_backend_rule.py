"""Under CI=true a test skipped for a missing backend ("backend missing: ...")
fails; locally it stays a skip with its reason; other skips stay skips."""

import os
import pathlib
import subprocess
import sys
import textwrap

CONFTEST = pathlib.Path(__file__).with_name("conftest.py")


def _run(tmp_path, ci: bool) -> str:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            f"""
            import importlib.util
            spec = importlib.util.spec_from_file_location("nova_common_tests_conftest", {str(CONFTEST)!r})
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            pytest_runtest_makereport = module.pytest_runtest_makereport
            """
        )
    )
    (tmp_path / "test_it.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_needs_a_broker():
                pytest.skip("backend missing: RabbitMQ is not reachable")

            def test_does_not_apply():
                pytest.skip("capability 'pause' is not advertised")
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    return result.stdout.splitlines()[-1]


def test_a_missing_backend_fails_under_ci_and_skips_elsewhere(tmp_path):
    assert _run(tmp_path, ci=True).startswith("1 failed, 1 skipped")
    assert _run(tmp_path, ci=False).startswith("2 skipped")
