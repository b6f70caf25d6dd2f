"""The publishers by the path the rest of the daemon imports them from: the network one (`broker`), the base
and the dry run's (`wanted`), and the client helpers `check` uses (`client`)."""

from presence.outputs.mqtt.broker import MqttPublisher
from presence.outputs.mqtt.client import client_id, connect_problem, make_client, refusal
from presence.outputs.mqtt.wanted import PrintingPublisher, Publisher

__all__ = ["MqttPublisher", "PrintingPublisher", "Publisher", "client_id", "connect_problem", "make_client",
           "refusal"]
