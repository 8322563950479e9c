"""Outbound delivery of the relay's queue to the recipients' MX hosts (issue 13, point 4).

``DeliveryEngine`` (``engine``) is what the relay process runs; ``DeliverySettings``
(``settings``) is everything it needs, built from the config by
``monitor.daemon.wiring.delivery_settings``. The parts: ``mx`` (MX routes, RFC 5321 5.1,
RFC 7505), ``session`` (one SMTP client connection), ``pool`` (the idle ones), ``courier`` (agents
per destination), ``record`` and ``writer`` (results -> queue state, events, DSNs in one
transaction), ``dsn`` (RFC 3464 notifications).
"""

from monitor.relay.delivery.engine import DeliveryEngine
from monitor.relay.delivery.settings import DeliverySettings

__all__ = ["DeliveryEngine", "DeliverySettings"]
