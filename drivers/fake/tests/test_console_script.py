"""``nova-compute-fake`` starts messaging before anything loads oslo.messaging
(nova_common.messaging.init_process), so its package imports the driver lazily."""

import json
import subprocess
import sys
import textwrap


def test_the_console_script_starts_messaging_before_oslo_messaging_loads():
    code = textwrap.dedent(
        """
        import json, sys
        from nova_driver_fake import cmd
        loaded = "oslo_messaging" in sys.modules
        sys.argv = ["nova-compute-fake", "--help"]
        try:
            cmd.main()
        except SystemExit:
            pass
        from oslo_service import backend
        print(json.dumps({"loaded_by_import": loaded, "backend": str(backend.get_backend_type())}))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "loaded_by_import": False,
        "backend": "BackendType.THREADING",
    }
    assert "Eventlet is deprecated" not in result.stderr


def test_the_driver_class_is_still_importable_from_the_package():
    from nova_driver_fake import FakeDriver
    from nova_driver_fake.driver import FakeDriver as defined

    assert FakeDriver is defined
