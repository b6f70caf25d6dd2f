"""`check`'s mqtt line: the broker answers, takes our credentials, and lets us publish where we must."""

import threading

import paho.mqtt.client as paho

from presence.config import defaults
from presence.config.model import ConfigError
from presence.outputs.mqtt.topics import Topics
from presence.config.secrets import read_mqtt_password
from presence.outputs.mqtt.client import client_id, connect_problem, make_client, refusal

# CONNACK's "unsupported protocol version", as MQTT 3.1.1 and 5 say it: a broker that only speaks 3.1.1.
_OLD_BROKER = frozenset({1, 132})


def probe_broker(config, environ=None):
    """(ok, text): connect as the daemon does, then publish one message (QoS 1, not retained) under the
    discovery prefix and one under the base topic. MQTT 5 brokers say when a publish is refused; a 3.1.1
    broker cannot, and then only the connection is checked."""
    mqtt = config.mqtt
    try:
        password = read_mqtt_password(mqtt, config.path, *([environ] if environ is not None else []))
        ok, text, old = _try(config, mqtt, password, paho.MQTTv5)
        if old:
            ok, text, _ = _try(config, mqtt, password, paho.MQTTv311)
            if ok:
                text += "; the broker speaks only MQTT 3.1.1, which cannot say whether a publish was refused"
    except ConfigError as error:
        return False, "; ".join(error.problems)
    return ok, text


def _try(config, mqtt, password, protocol):
    """(ok, text, whether the broker refused this protocol version)."""
    topics = Topics(mqtt)
    client = make_client(mqtt, password, client_id(mqtt) + "-check", config.path, protocol)
    answered, published = threading.Event(), {}
    connack = {}
    client.on_connect = lambda _c, _u, _f, code, _p=None: (connack.setdefault("code", code), answered.set())
    client.on_publish = lambda _c, _u, mid, code, _p=None: published.setdefault(mid, code)
    shown = f"{mqtt.host}:{mqtt.port}"
    try:
        client.connect(mqtt.host, mqtt.port, keepalive=defaults.MQTT_KEEPALIVE)
    except (OSError, ValueError) as error:
        return False, connect_problem(mqtt, error), False
    client.loop_start()
    try:
        if not answered.wait(defaults.MQTT_TIMEOUT):
            hint = "" if mqtt.tls else " (does it expect TLS there? mqtt.tls, mqtt.port)"
            return False, f"{shown} accepted TCP but did not answer MQTT within {defaults.MQTT_TIMEOUT:g} s{hint}", \
                False
        code = connack["code"]
        if code.is_failure:
            return False, refusal(shown, code), code.value in _OLD_BROKER
        who = f"as {mqtt.username}" if mqtt.username else "anonymously"
        refused = []
        for where in (f"{topics.prefix}/{topics.node}/check", f"{topics.base}/check"):
            info = client.publish(where, "presence check", qos=1)
            info.wait_for_publish(defaults.MQTT_TIMEOUT)
            code = published.get(info.mid)
            if code is None:
                return False, f"{shown} did not acknowledge a publish to {where} within {defaults.MQTT_TIMEOUT:g} s", \
                    False
            if code.is_failure:
                refused.append(f"{where} ({code})")
        tls = " over TLS" if mqtt.tls else ""
        if refused:
            return False, (f"connected to {shown}{tls} {who}, but may not publish to {', '.join(refused)}: allow "
                           f"this user to write {topics.prefix}/# and {topics.base}/# in the broker's ACL"), False
        return True, (f"connected to {shown}{tls} {who}; may publish under {topics.prefix}/ (discovery) "
                      f"and {topics.base}/"), False
    finally:
        client.disconnect()
        client.loop_stop()
