import os

import pytest

from nova_common import messaging

# Before anything imports oslo.messaging (see nova_common.messaging.process).
messaging.init_process()


# Under CI (CI=true) a test skipped because a backend it needs is missing fails
# instead: a green run must have run it. Such skips say "backend missing: ...".
BACKEND_MISSING = "backend missing: "


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") == "true":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if BACKEND_MISSING in reason:
            report.outcome = "failed"
            report.longrepr = f"CI=true and a backend this test needs is missing: {reason}"
