"""A real mosquitto broker (Debian's mosquitto) on 127.0.0.1, optionally in a network namespace, and paho clients.

Callers stop it whatever the test does: `with Mosquitto(folder) as broker:`, or a fixture that starts it and
stops it in try/finally around its `yield`; clients likewise (`with broker.subscriber() as sub:` or close())."""

import itertools
import logging
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.subscribeoptions import SubscribeOptions

from testbed.carbon import free_port, stop_process
from testbed.lab.netns_thread import call_in_netns

log = logging.getLogger(__name__)
MOSQUITTO = shutil.which("mosquitto", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or "mosquitto"
USERS = {"presence": "presence-pw", "homeassistant": "homeassistant-pw"}
_client_ids = itertools.count(1)
# Strict enough for Python 3.13's VERIFY_X509_STRICT (critical CA basicConstraints, key identifiers).
OPENSSL_CNF = ("[req]\ndistinguished_name = dn\n[dn]\n"
               "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
               "subjectKeyIdentifier = hash\n[server]\nextendedKeyUsage = serverAuth\n"
               "subjectAltName = IP:127.0.0.1,DNS:localhost\nauthorityKeyIdentifier = keyid\n")


def _read(path):
    return pathlib.Path(path).read_text(errors="replace") if os.path.exists(path) else ""


def mosquitto_unavailable_reason():
    if not os.access(MOSQUITTO, os.X_OK) or shutil.which("mosquitto_passwd") is None:
        return "a real MQTT broker is needed: install Debian's mosquitto (apt-get install mosquitto)"
    if shutil.which("openssl") is None:
        return "the MQTT TLS tests need the openssl command (apt-get install openssl)"
    return None


class Mosquitto:
    """mosquitto with every file in `folder`: password logins only, a plain listener on `port` and a TLS one on
    `tls_port` (certificate of the throwaway CA in `ca_file`), both on 127.0.0.1 of `netns` (None: this one)."""

    def __init__(self, folder, netns=None, users=None, acl=None):
        self.folder, self.netns = str(folder), netns
        self.users = dict(USERS if users is None else users)
        self.port, self.tls_port = free_port(), free_port()
        while self.tls_port == self.port:
            self.tls_port = free_port()
        self.conf, self.log_file, self.ca_file = map(self._path, ("mosquitto.conf", "mosquitto.log", "ca.crt"))
        self.proc = self.started_in = None  # started_in: seconds until both ports accepted, at the last start
        os.makedirs(self.folder, exist_ok=True)
        self._make_certificates()
        with open(self._path("passwords"), "w") as handle:
            handle.write("".join(f"{user}:{password}\n" for user, password in self.users.items()))
        subprocess.run(["mosquitto_passwd", "-U", self._path("passwords")], check=True, capture_output=True)
        lines = ["per_listener_settings false", "allow_anonymous false", f"password_file {self._path('passwords')}",
                 "persistence false", f"log_dest file {self.log_file}", "log_type all", "connection_messages true",
                 "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                 # As root it would switch to the mosquitto user, who cannot read the files in `folder`.
                 f"user {pwd.getpwuid(os.geteuid()).pw_name}"]
        if acl is not None:
            with open(self._path("acl"), "w") as handle:
                handle.write(acl)
            lines.append(f"acl_file {self._path('acl')}")
        lines += [f"listener {self.port} 127.0.0.1", f"listener {self.tls_port} 127.0.0.1", f"cafile {self.ca_file}",
                  f"certfile {self._path('server.crt')}", f"keyfile {self._path('server.key')}"]
        with open(self.conf, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def _path(self, name):
        return os.path.join(self.folder, name)

    def _make_certificates(self):
        with open(self._path("openssl.cnf"), "w") as handle:
            handle.write(OPENSSL_CNF)
        new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-config",
                   self._path("openssl.cnf")]
        for argv in (
                ["req", "-x509", *new_key, "-extensions", "ca", "-days", "30", "-subj", "/CN=presence test CA",
                 "-keyout", self._path("ca.key"), "-out", self.ca_file],
                ["req", "-new", *new_key, "-subj", "/CN=127.0.0.1", "-keyout", self._path("server.key"),
                 "-out", self._path("server.csr")],
                ["x509", "-req", "-in", self._path("server.csr"), "-CA", self.ca_file, "-CAkey", self._path("ca.key"),
                 "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "30",
                 "-extfile", self._path("openssl.cnf"), "-extensions", "server", "-out", self._path("server.crt")]):
            subprocess.run(["openssl", *argv], check=True, capture_output=True)

    def start(self, timeout=10):
        """Start mosquitto; return once both ports accept connections."""
        wrapper = ["ip", "netns", "exec", self.netns] if self.netns else []
        began = time.monotonic()
        with open(self._path("mosquitto.out"), "ab") as out:
            self.proc = subprocess.Popen([*wrapper, MOSQUITTO, "-c", self.conf], stdout=out, stderr=subprocess.STDOUT)
        while time.monotonic() < began + timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self._output_tail()}")
            if self._in_netns(self._listening):
                self.started_in = time.monotonic() - began
                log.info("mosquitto on ports %s (TLS %s) after %.2f s", self.port, self.tls_port, self.started_in)
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"mosquitto did not listen on 127.0.0.1:{self.port} and {self.tls_port} in {timeout} s "
                           f"(is lo up in {self.netns or 'this namespace'}?): {self._output_tail()}")

    def _in_netns(self, function, *args):
        return call_in_netns(self.netns, function, *args) if self.netns else function(*args)

    def _listening(self):
        try:
            for port in (self.port, self.tls_port):
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def _output_tail(self):
        return (_read(self._path("mosquitto.out")) + self.log_text())[-2000:].strip() or "no output"

    def stop(self):
        """SIGTERM, then SIGKILL if it is still there after 10 s."""
        stop_process(self.proc, 10)

    def kill(self):
        """SIGKILL: an abrupt death, no goodbye to the clients."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, timeout=10):
        """Stop and start again, on the same ports with the same files (retained messages are gone)."""
        self.stop()
        return self.start(timeout)

    def log_text(self):
        return _read(self.log_file)

    def __enter__(self):
        return self if self.proc and self.proc.poll() is None else self.start()

    def __exit__(self, *exc):
        self.stop()

    def subscriber(self, topics="#", user="presence", tls=False, **kwargs):
        """A connected MqttClient collecting what arrives on `topics` (a filter, a list of them or None)."""
        return MqttClient(self, user, tls=tls, topics=topics, **kwargs)

    def publish(self, topic, payload, retain=False, user="presence", qos=1, tls=False):
        """Publish once from a fresh connection; return MqttClient.publish's reason code."""
        with self.subscriber(None, user, tls) as client:
            return client.publish(topic, payload, retain, qos)


class MqttClient:
    """A paho 2.x client of `broker` as `user` (MQTT v5 unless `protocol`); with `topics`, it collects what arrives
    as (topic, payload bytes, retain), where v5 keeps the publisher's retain flag (retain as published)."""

    def __init__(self, broker, user, password=None, tls=False, topics=None, protocol=mqtt.MQTTv5, timeout=5):
        self.protocol, self._in_netns = protocol, broker._in_netns
        self.topics = [topics] if isinstance(topics, str) else list(topics or [])
        self.messages, self.acks, self.connect_reason, self.subscribe_reasons = [], {}, None, None
        self._changed, self._ready = threading.Condition(), threading.Event()
        self.client_id = f"test-{user}-{next(_client_ids)}"
        self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, self.client_id, protocol=protocol)
        self.paho.enable_logger(log)
        self.paho.username_pw_set(user, broker.users.get(user, "") if password is None else password)
        self.paho.reconnect_delay_set(1, 2)  # back soon after a broker restart
        if tls:
            self.paho.tls_set(ca_certs=broker.ca_file)
        self.paho.on_connect, self.paho.on_subscribe = self._on_connect, self._on_subscribe
        self.paho.on_message = lambda _c, _u, m: self._record(self.messages.append, (m.topic, m.payload, m.retain > 0))
        self.paho.on_publish = lambda _c, _u, mid, reason, _p: self._record(self.acks.__setitem__, mid, reason)
        self._in_netns(self.paho.connect, "127.0.0.1", broker.tls_port if tls else broker.port, 30)
        # The loop thread enters the namespace too, as paho makes each reconnect's socket in it.
        self._loop = threading.Thread(target=self._in_netns, args=(self.paho.loop_forever,), daemon=True)
        self._loop.start()
        if not self._ready.wait(timeout) or self.connect_reason.is_failure:
            self.close()
            raise ConnectionRefusedError(f"the broker refused {user}: {self.connect_reason or 'no answer'}")

    def _record(self, store, *args):
        with self._changed:
            store(*args)
            self._changed.notify_all()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connect_reason = reason_code
        if reason_code.is_failure or not self.topics:
            if reason_code.is_failure:
                client.disconnect()  # else loop_forever tries again and again
            self._ready.set()
            return
        # QoS 0, so no inflight limit holds retained messages back: all come before the SUBACK of the second
        # subscription (the broker handles packets in order), and retained() is complete once the client is ready.
        options = SubscribeOptions(qos=0, retainAsPublished=True) if self.protocol == mqtt.MQTTv5 else 0
        self._subscription = client.subscribe([(topic, options) for topic in self.topics])[1]
        client.subscribe(f"$testbed/settled/{self.client_id}")

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if mid == self._subscription:
            self.subscribe_reasons = reason_codes
        else:
            self._ready.set()

    def publish(self, topic, payload, retain=False, qos=1, timeout=5):
        """Publish; return the reason code of the PUBACK (QoS 1), PUBCOMP (QoS 2) or None (QoS 0).

        Only QoS 1 with MQTT v5 tells of an ACL denial (0x87 Not authorized); paho 2.2 ignores PUBREC's code."""
        info = self.paho.publish(topic, payload, qos, retain)
        if qos == 0:
            return None
        with self._changed:
            if not self._changed.wait_for(lambda: info.mid in self.acks, timeout):
                raise TimeoutError(f"no acknowledgement of {topic} within {timeout} s")
            return self.acks.pop(info.mid)

    def wait_for(self, topic, payload=None, timeout=5):
        """The latest (topic, payload, retain) received on `topic` (with `payload`: str or bytes), waiting for it."""
        payload = payload.encode() if isinstance(payload, str) else payload

        def latest():
            return next((m for m in reversed(self.messages) if m[0] == topic and payload in (None, m[1])), None)
        with self._changed:
            if not self._changed.wait_for(latest, timeout):
                raise AssertionError(f"nothing on {topic} ({payload!r}) in {timeout} s; got {self.messages[-20:]}")
            return latest()

    def retained(self):
        """{topic: payload} of the retained messages seen (an empty one clears its topic, as in the broker)."""
        held = {}
        with self._changed:
            for topic, payload, retain in (m for m in self.messages if m[2]):
                held[topic] = payload
        return {topic: payload for topic, payload in held.items() if payload}

    def close(self):
        self.paho.disconnect()
        self._loop.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
