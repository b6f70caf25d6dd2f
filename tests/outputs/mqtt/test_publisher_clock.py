"""The MQTT publisher on the clock it is given: its reconnects and the age of its problem, in virtual time."""

import socket
import threading

from presence.config.load import parse_config
from presence.outputs.mqtt.publisher import MqttPublisher
from tests.conftest import make_config
from tests.fakes import FakeClock
from tests.outputs.graphite.senders import closed_port, wait


def test_reconnects_back_off_on_the_clock_it_is_given_and_the_problem_ages_on_it(monkeypatch):
    clock, port = FakeClock(), closed_port()
    started, attempts = clock.monotonic(), []
    connect = socket.socket.connect

    def recorded(sock, address):
        if address == ("127.0.0.1", port):
            attempts.append(clock.monotonic() - started)
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recorded)
    presence = MqttPublisher(parse_config(make_config(mqtt={"host": "127.0.0.1", "port": port})), None,
                             clock=clock).start()
    try:
        assert wait(lambda: clock.waited(presence._thread))
        clock.wait(threading.Event(), 40)  # 40 s of the publisher's time, its waits all on the clock
        assert attempts == [0, 1, 3, 7, 15, 31]  # 1, 2, 4, 8, 16 s apart, then the most: 30
        assert presence.problem() == f"MQTT: cannot reach 127.0.0.1:{port}: Connection refused (since 40 s)"
    finally:
        presence.close()
    assert not presence._thread.is_alive()
