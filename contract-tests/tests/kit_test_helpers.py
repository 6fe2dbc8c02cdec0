import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager

RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"


def rabbit_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def compute_process(tmp_path, driver_script="nova-compute-fake", transport_url=RABBIT_URL, extra_conf=""):
    """A compute service in its own process; yields its host name."""
    host = "kit-" + uuid.uuid4().hex[:8]
    config = tmp_path / f"{host}.conf"
    config.write_text(f"[DEFAULT]\nhost = {host}\ntransport_url = {transport_url}\n{extra_conf}")
    script = os.path.join(os.path.dirname(sys.executable), driver_script)
    process = subprocess.Popen(
        [script, "--config-file", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    serving = threading.Event()

    def drain():  # keep reading so the child never blocks on a full pipe
        for line in process.stdout:
            output.append(line)
            if "serving host" in line:
                serving.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not serving.wait(timeout=60):
            raise AssertionError(f"{driver_script} did not start: {''.join(output)[-2000:]}")
        yield host
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, "".join(output)[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
