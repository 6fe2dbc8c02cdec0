"""Deliberately broken compute services: each breaks one rule of the report
channel (nova_common.virt.report_api) while its driver is fine."""

from nova_common.scaffold.service import ComputeService


class SilentService(ComputeService):
    """Registers, then never heartbeats."""

    def _tick(self) -> None:
        while not self._stopping.is_set():
            if self._registration_due:
                self._register()
            self._wake.wait(0.1)
            self._wake.clear()


class StaleReportService(ComputeService):
    """Reports the resources it read at its first report, forever."""

    _stale = None

    def _report_resources(self) -> None:
        if self._stale is None:
            self._stale = self.dispatcher.dispatch("get_host_resources", {})
        self.reporter.report_resources(resources=self._stale)


class NewerObjectsService(ComputeService):
    """Ignores the core's manifest and sends HostResources at a version the
    core never asked for (as a newer nova-common that forgot to backport would)."""

    def _register(self) -> bool:
        registered = super()._register()
        if registered:
            serializer = self.reporter._client.serializer
            original = serializer.serialize_entity

            def newer(context, entity):
                primitive = original(context, entity)
                if isinstance(primitive, dict) and primitive.get("nova_object.name") == "HostResources":
                    primitive = dict(primitive, **{"nova_object.version": "1.5"})
                return primitive

            serializer.serialize_entity = newer
        return registered
