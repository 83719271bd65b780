"""Cinder API, scheduler and volume service in ONE process.

The `fake:/` message transport only works inside one process, so the three services that
cinder-api, cinder-scheduler and cinder-volume would start are created here and run under one
oslo.service launcher. The volume backend is Cinder's fake driver, so volumes and snapshots
really move creating -> available and deleting -> gone.

Usage: python cinder_all.py --config-file cinder.conf
"""

from cinder import monkey_patch

monkey_patch.patch()

import sys  # noqa: E402

import os_brick  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log as logging  # noqa: E402
from oslo_service import service as oslo_service  # noqa: E402

from cinder import i18n  # noqa: E402

i18n.enable_lazy()
from cinder.common import config  # noqa: E402
from cinder.common import constants  # noqa: E402
from cinder import coordination  # noqa: E402
from cinder import objects  # noqa: E402
from cinder import rpc  # noqa: E402
from cinder import service  # noqa: E402
from cinder import version  # noqa: E402

CONF = cfg.CONF


def keep_every_heartbeat():
    """cinder.service.Service keeps the service's database id in a CLASS attribute, so with
    several services in one process only the last one created would heartbeat, and after a
    minute the volume service would look down ("No valid backend"). Put each service's own id
    back before each of its heartbeats."""
    original = service.Service.report_state

    def report_state(self):
        own = getattr(self, "origin_service_id", None)
        if own is not None:
            service.Service.service_id = own
        return original(self)

    service.Service.report_state = report_state


def main():
    objects.register_all()
    CONF(sys.argv[1:], project="cinder", version=version.version_string())
    config.set_middleware_defaults()
    logging.setup(CONF, "cinder")
    os_brick.setup(CONF)
    coordination.COORDINATOR.start()
    rpc.init(CONF)
    keep_every_heartbeat()

    launcher = oslo_service.ServiceLauncher(CONF, restart_method="mutate")
    launcher.launch_service(service.WSGIService("osapi_volume"))
    launcher.launch_service(service.Service.create(binary="cinder-scheduler"))
    for backend in filter(None, CONF.enabled_backends):
        launcher.launch_service(
            service.Service.create(
                host="%s@%s" % (CONF.host, backend),
                service_name=backend,
                binary=constants.VOLUME_BINARY,
                coordination=True,
            )
        )
    launcher.wait()


if __name__ == "__main__":
    main()
