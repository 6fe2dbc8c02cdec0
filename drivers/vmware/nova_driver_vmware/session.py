"""One vCenter session per compute service: login, re-login, keep-alive, logout, errors.

* Logs in on first use; a call that finds the session expired
  (``NotAuthenticated``) logs in again and is retried, up to
  ``[vmware] api_retry_count`` times.
* A vCenter that cannot be reached gives ``HypervisorUnavailable``; the next
  call (at most every ``reconnect_interval`` seconds) tries to log in again.
* A keep-alive thread asks vCenter the time every ``keepalive_interval``.
* The password is handed to pyvmomi and nowhere else: it is in no log line and
  no error message (``host_password`` is a secret option).
* Every SOAP round trip is counted (:attr:`VCenterSession.round_trips`), so
  tests and benchmarks can check that bulk reads stay one call.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from oslo_log import log as logging
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from nova_common.virt import exceptions as exc

LOG = logging.getLogger(__name__)
T = TypeVar("T")

#: Errors of the transport (not of vSphere): vCenter is unreachable or the connection broke.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    http.client.HTTPException,
    ssl.SSLError,
    EOFError,
)


class VCenterSession:
    def __init__(self, conf: Any) -> None:
        self.conf = conf
        self._si: Any = None
        self._lock = threading.RLock()
        self._last_failure = 0.0
        self._failure_reason = ""
        self._stop = threading.Event()
        self._keepalive: threading.Thread | None = None
        self.round_trips = 0
        self.logins = 0

    # -- connection -----------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Where vCenter is, for messages: never with the password."""
        return f"{self.conf.vmware.host_ip}:{self.conf.vmware.host_port}"

    def _ssl_context(self) -> ssl.SSLContext | None:
        vmware = self.conf.vmware
        if vmware.ca_file:
            return ssl.create_default_context(cafile=vmware.ca_file)
        if vmware.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return None

    def _login(self) -> Any:
        vmware = self.conf.vmware
        if not vmware.host_ip:
            raise exc.HypervisorUnavailable(reason="[vmware] host_ip is not set")
        since = time.monotonic() - self._last_failure
        if self._failure_reason and since < self.conf.vmware.reconnect_interval:
            raise exc.HypervisorUnavailable(reason=self._failure_reason)
        try:
            si = SmartConnect(
                host=vmware.host_ip,
                port=vmware.host_port,
                user=vmware.host_username or "",
                pwd=vmware.host_password or "",
                sslContext=self._ssl_context(),
                connectionPoolTimeout=-1,
            )
        except vim.fault.InvalidLogin as fault:
            self._failed(
                f"vCenter at {self.endpoint} refused the login of {vmware.host_username!r}: {fault.msg}"
            )
        except CONNECTION_ERRORS as error:
            self._failed(f"vCenter at {self.endpoint} cannot be reached: {type(error).__name__}: {error}")
        except vmodl.MethodFault as fault:
            self._failed(f"vCenter at {self.endpoint} failed the login: {fault.msg}")
        self._count(si)
        self._si = si
        self._failure_reason = ""
        self.logins += 1
        LOG.info("Logged in to vCenter at %s as %s", self.endpoint, vmware.host_username)
        return si

    def _failed(self, reason: str) -> None:
        self._last_failure = time.monotonic()
        self._failure_reason = reason
        LOG.warning("%s", reason)
        raise exc.HypervisorUnavailable(reason=reason)

    def _count(self, si: Any) -> None:
        """Count every SOAP request made through this service instance."""
        stub = si._stub
        session = self
        for name in ("InvokeMethod", "InvokeAccessor"):
            original = getattr(stub, name)

            def counted(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
                session.round_trips += 1
                return _original(*args, **kwargs)

            setattr(stub, name, counted)

    @staticmethod
    def _session_lost(si: Any) -> bool:
        try:
            return si.content.sessionManager.currentSession is None
        except (vim.fault.NotAuthenticated, vim.fault.NoPermission):
            return True
        except vmodl.MethodFault:
            return False

    def service_instance(self) -> Any:
        with self._lock:
            return self._si if self._si is not None else self._login()

    def drop(self) -> None:
        """Forget the session (the next call logs in again)."""
        with self._lock:
            self._si = None

    def invoke(self, call: Callable[[Any], T], what: str) -> T:
        """Run ``call(service_instance)``; log in again and retry on an expired session
        or a broken connection; HypervisorUnavailable when vCenter stays unreachable."""
        attempts = self.conf.vmware.api_retry_count + 1
        LOG.debug("vCenter call: %s", what)
        for attempt in range(attempts):
            si = self.service_instance()
            try:
                return call(si)
            except vim.fault.NotAuthenticated:
                LOG.info("vCenter session expired during %s; logging in again", what)
                self.drop()
            except (vim.fault.NoPermission, vmodl.fault.ManagedObjectNotFound):
                # vcsim (and a vCenter whose session ended) answers NoPermission, or
                # ManagedObjectNotFound for the session's own views: log in again only
                # when the session is really gone.
                if not self._session_lost(si):
                    raise
                LOG.info("vCenter session ended during %s; logging in again", what)
                self.drop()
            except CONNECTION_ERRORS as error:
                self.drop()
                kind = type(error).__name__
                reason = f"vCenter at {self.endpoint} connection failed during {what}: {kind}: {error}"
                if attempt + 1 == attempts:
                    self._last_failure = time.monotonic()
                    self._failure_reason = reason
                    LOG.warning("%s", reason)
                    raise exc.HypervisorUnavailable(reason=reason) from None
                LOG.info("%s; retrying", reason)
        raise exc.HypervisorUnavailable(
            reason=f"vCenter at {self.endpoint}: session expired again during {what}"
        )

    # -- lifecycle --------------------------------------------------------------------

    def start_keepalive(self) -> None:
        interval = self.conf.vmware.keepalive_interval
        if interval <= 0 or self._keepalive is not None:
            return
        self._stop.clear()
        self._keepalive = threading.Thread(
            target=self._keep_alive, args=(interval,), name="vmware-keepalive", daemon=True
        )
        self._keepalive.start()

    def _keep_alive(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.invoke(lambda si: si.CurrentTime(), "keep-alive")
            except exc.HypervisorUnavailable as error:
                LOG.debug("Keep-alive: %s", error)
            except Exception:  # the keep-alive thread must survive
                LOG.exception("vCenter keep-alive failed")

    def close(self) -> None:
        self._stop.set()
        if self._keepalive is not None:
            self._keepalive.join(timeout=5)
            self._keepalive = None
        with self._lock:
            si, self._si = self._si, None
        if si is not None:
            try:
                Disconnect(si)
                LOG.info("Logged out of vCenter at %s", self.endpoint)
            except Exception as error:  # logout is best effort
                LOG.info("Logout from vCenter at %s failed: %s", self.endpoint, error)
