"""The shipped unit under a real systemd: PID 1 of a booted Debian container on the lab's scanner network, the
service installed by systemd/install.sh, run with systemctl and read with journalctl as an operator does."""

import collections
import concurrent.futures
import os
import re
import time

import pytest
import yaml

from testbed.carbon import Carbon, carbon_unavailable_reason, require
from testbed.homeassistant_core import HomeAssistantCore, homeassistant_unavailable_reason
from testbed.lab import Lan, lab_unavailable_reason
from testbed.systemd_container import Container, build_root, systemd_unavailable_reason

pytestmark = pytest.mark.lab  # root, the namespace lab, a booted systemd, carbon and Home Assistant core

UNIT = "presence-monitoring"
CONFIG, TOKEN = "/etc/presence-monitoring/people_config.yaml", "/etc/presence-monitoring/ha_token"
ENV_FILE = "/etc/presence-monitoring.env"
# With DynamicUser=, StateDirectory= lives here; /var/lib/presence-monitoring links to it.
STATE_DIRECTORY = "/var/lib/private/presence-monitoring"
NICK, SUSAN = "02:00:00:00:01:01", "02:00:00:00:02:01"
CHARLIE_TRACKER = "device_tracker.charlie_phone"
SCAN, GRACE, NICK_GRACE = 2, 6, 60  # Nick's grace: long enough that a restart falls well inside it
CAP_NET_RAW = 1 << 13
# The unit's TimeoutStopSec and RestartSec.
TIMEOUT_STOP, RESTART_SEC = 10, 5
# Where DynamicUser= takes its uids from (systemd.exec(5)).
DYNAMIC_UIDS = range(61184, 65520)

Home = collections.namedtuple("Home", "devices ha carbon box")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """Nick's and Susan's phones on the lab; carbon, Home Assistant and a booted container with presence
    installed, all on its scanner namespace; everything removed afterwards, also on failure."""
    require(lab_unavailable_reason() or systemd_unavailable_reason() or carbon_unavailable_reason()
            or homeassistant_unavailable_reason())
    require(build_root())
    folder = tmp_path_factory.mktemp("servers")
    with Lan() as lan:
        devices = {"nick": lan.add_device("nick", NICK, "198.51.100.11"),
                   "susan": lan.add_device("susan", SUSAN, "198.51.100.12")}
        ha = HomeAssistantCore(folder / "ha", lan.scanner_ns, {"charlie": [CHARLIE_TRACKER]})
        carbon = Carbon(folder / "carbon", netns=lan.scanner_ns)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            ha_started = pool.submit(ha.start)  # it takes seconds: meanwhile the install and the boot
            try:
                carbon.start()
                with Container(lan.scanner_ns) as box:
                    ha_started.result()
                    yield Home(devices, ha, carbon, box)
            finally:
                concurrent.futures.wait([ha_started])
                ha.stop()
                carbon.stop()


def household(home, **changes):
    """The config an operator writes: the container's LAN interface, the people, carbon, Home Assistant."""
    raw = {"network": {"cidrs": ["198.51.100.0/24"], "interface": "eth0"},
           "wifi": {"scan_interval": SCAN, "offline_grace": GRACE},
           "graphite": {"host": "127.0.0.1", "port": home.carbon.port, "send_interval": 1},
           "homeassistant": {"url": home.ha.url, "poll_interval": 1},
           "people": [{"name": "Nick", "macs": [NICK], "offline_grace": NICK_GRACE},
                      {"name": "Susan", "macs": [SUSAN]},
                      {"name": "Charlie", "homeassistant_entities": ["person.charlie"]}]}
    raw.update(changes)
    return yaml.safe_dump(raw, sort_keys=False)


def configure(home):
    """Write the household's config and the token as the credential (and no environment file)."""
    home.box.write(CONFIG, household(home))
    home.box.write(TOKEN, home.ha.token + "\n", 0o600)
    if os.path.exists(home.box.path(ENV_FILE)):
        os.unlink(home.box.path(ENV_FILE))


def everyday(home):
    """The service as a household runs it: configured and active; returns the container."""
    box = home.box
    configure(home)
    # This module starts the unit more often than its start limit allows in 10 minutes; reset-failed (what
    # an operator runs after fixing a fault) clears the count.
    box.systemctl("reset-failed", UNIT)
    if box.show(UNIT, "ActiveState")["ActiveState"] != "active":
        started = box.systemctl("start", UNIT)
        assert started.returncode == 0, started.stderr + status(box)
    return box


def status(box):
    return box.systemctl("status", UNIT).stdout


def journal_after(box, cursor):
    return box.journal("-u", UNIT, "-o", "cat", f"--after-cursor={cursor}")


def status_text(box):
    return box.show(UNIT, "StatusText")["StatusText"]


def wait_for(what, probe, timeout, box=None):
    """probe()'s first true value, asked until `timeout` seconds have passed (then the test fails)."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s" + (f"\n{status(box)}" if box else ""))
        time.sleep(0.2)
    return value


def points(home, metric, since):
    """{stamp: value} of `metric` in carbon from `since` on."""
    now = int(time.time())
    return home.carbon.points(f"home.presence.{metric}", int(since), now + 1) if since <= now else {}


def wait_for_point(home, metric, value, since, timeout):
    """Wait until carbon holds a point of `metric` with `value`, stamped `since` or later."""
    return wait_for(f"{metric} = {value} in carbon", lambda: [
        stamp for stamp, found in points(home, metric, since).items() if stamp >= since and found == value], timeout)


def test_enable_now_starts_it_ready_with_the_daemons_status_line(home):
    box = home.box
    assert f"systemctl enable --now {UNIT}" in box.installed  # what install.sh says to do next
    home.ha.set_tracker(CHARLIE_TRACKER, "not_home")
    configure(home)
    enabled = box.systemctl("enable", "--now", UNIT)
    assert enabled.returncode == 0, enabled.stderr + status(box)
    # Type=notify: `start` returns once the daemon has sent READY=1, and only then is the unit active.
    assert box.show(UNIT, "Type", "ActiveState", "SubState", "UnitFileState") == {
        "Type": "notify", "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled"}
    line = r"2 home: nick, susan; last scan \d+\.\d s ago"
    wait_for("both phones in StatusText", lambda: re.fullmatch(line, status_text(box)), 15, box)
    shown = status(box)
    assert "Active: active (running)" in shown and re.search(f'Status: "{line}"', shown), shown


def test_the_journal_follows_phones_leaving_and_joining(home):
    box, susan = everyday(home), home.devices["susan"]
    wait_for("Susan home", lambda: "susan" in status_text(box), 15, box)
    cursor = box.cursor()
    try:
        susan.leave()
        wait_for("her departure in the journal",
                 lambda: "susan: home -> away (last seen" in journal_after(box, cursor), GRACE + SCAN + 15, box)
        susan.join()
        wait_for("her arrival in the journal",
                 lambda: f"susan: away -> home (wifi {SUSAN})" in journal_after(box, cursor), SCAN + 15, box)
    finally:
        susan.join()
    assert "Traceback" not in box.journal("-o", "cat")


def test_the_daemon_runs_as_a_dynamic_user_with_only_cap_net_raw(home):
    box = everyday(home)
    process = main_process(box)
    uids = set(process["Uid"].split())  # real, effective, saved, file system
    assert len(uids) == 1 and int(uids.pop()) in DYNAMIC_UIDS, process["Uid"]
    for kind in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert int(process[kind], 16) == CAP_NET_RAW, f"{kind}: {process[kind]}"
    # No way back to more privileges, and the system call filter is on.
    assert process["NoNewPrivs"] == "1" and process["Seccomp"] == "2"


def main_process(box):
    """/proc/<MainPID>/status as {field: value}."""
    pid = box.show(UNIT, "MainPID")["MainPID"]
    lines = box.run("cat", f"/proc/{pid}/status").stdout.splitlines()
    return dict((name, value.strip()) for name, value in (line.split(":", 1) for line in lines))


def test_the_state_lives_in_the_state_directory(home):
    box = everyday(home)
    uid = main_process(box)["Uid"].split()[0]
    assert box.run("readlink", "-f", "/var/lib/presence-monitoring").stdout.strip() == STATE_DIRECTORY
    found = box.run("find", STATE_DIRECTORY, "-printf", "%U %m ./%P\n").stdout.splitlines()
    entries = {path: (owner, mode) for owner, mode, path in (line.split(" ", 2) for line in found)}
    assert entries.pop("./") == (uid, "700") and "./state.json" in entries, found
    assert all(owner == uid for owner, _ in entries.values()), found  # state.json, the spool, the history
    elsewhere = box.run("find", "/", "-xdev", "-name", "state.json*", "-not", "-path", f"{STATE_DIRECTORY}/*")
    assert elsewhere.stdout == "", elsewhere.stdout


def restart_and_see_charlie_arrive(home):
    """Charlie is away; restart; Home Assistant says he is home: only a token it accepts lets that through."""
    box = home.box
    home.ha.set_tracker(CHARLIE_TRACKER, "not_home")
    wait_for("Charlie away", lambda: "charlie" not in status_text(box), 15, box)
    cursor, restarted = box.cursor(), time.time()
    assert box.systemctl("restart", UNIT).returncode == 0, status(box)
    home.ha.set_tracker(CHARLIE_TRACKER, "home")
    wait_for("the daemon's decision", lambda: "charlie: away -> home (homeassistant person.charlie)"
             in journal_after(box, cursor), 20, box)
    wait_for_point(home, "charlie.from_homeassistant", 1.0, restarted, 20)


def assert_token_not_shown(home):
    box = home.box
    shown = {"the journal": box.journal("-o", "verbose"), "systemctl status": status(box),
             "systemctl show": box.systemctl("show", UNIT).stdout}
    assert "charlie: away -> home" in shown["the journal"]  # it is the daemon's journal that is read
    for where, text in shown.items():
        assert home.ha.token not in text, f"the token is in {where}"


def test_the_token_reaches_home_assistant_as_a_credential(home):
    everyday(home)
    restart_and_see_charlie_arrive(home)
    assert_token_not_shown(home)


def test_the_token_reaches_home_assistant_from_the_environment_file(home):
    """A first deployment's way: HOME_ASSISTANT_TOKEN in /etc/presence-monitoring.env, ha_token left empty."""
    box = everyday(home)
    box.write(TOKEN, "", 0o600)
    box.write(ENV_FILE, f"HOME_ASSISTANT_TOKEN={home.ha.token}\n", 0o600)
    restart_and_see_charlie_arrive(home)
    assert_token_not_shown(home)


def test_a_restart_invents_no_departure(home):
    """Nick's phone stops answering just before the restart: only what the old daemon saved in the
    StateDirectory (his last reply, within his grace) keeps him home."""
    box, nick = everyday(home), home.devices["nick"]
    wait_for("Nick home", lambda: "nick" in status_text(box), 15, box)
    before, cursor, asked = box.show(UNIT, "MainPID")["MainPID"], box.cursor(), time.time()
    try:
        nick.leave()
        assert box.systemctl("restart", UNIT).returncode == 0, status(box)
        assert box.show(UNIT, "MainPID")["MainPID"] != before
        wait_for_point(home, "nick.is_home", 1.0, time.time() + 3, 20)  # a few ticks of the new daemon
        across = points(home, "nick.is_home", asked - 5)
    finally:
        nick.join()
    assert min(across) < asked and set(across.values()) == {1.0}, across
    assert "nick: home -> away" not in journal_after(box, cursor)


def test_reload_applies_an_edited_config_in_the_same_process(home):
    """`systemctl reload` runs the unit's ExecReload (SIGHUP to the daemon) under the unit's sandbox."""
    box = everyday(home)
    before, cursor = box.show(UNIT, "MainPID")["MainPID"], box.cursor()
    people = yaml.safe_load(household(home))["people"] + [{"name": "Mo", "macs": ["02:00:00:00:05:01"]}]
    box.write(CONFIG, household(home, people=people))
    reloaded = box.systemctl("reload", UNIT)
    assert reloaded.returncode == 0, reloaded.stderr + status(box)
    wait_for("the reload in the journal", lambda: f"Reloaded {CONFIG}: 4 people" in journal_after(box, cursor), 10, box)
    # The daemon said RELOADING=1; the unit is active again once it says READY=1.
    wait_for("active again", lambda: box.show(UNIT, "ActiveState")["ActiveState"] == "active", 10, box)
    assert box.show(UNIT, "MainPID")["MainPID"] == before


def test_stop_returns_within_the_stop_timeout_and_leaves_it_inactive(home):
    box = everyday(home)
    asked = time.monotonic()
    stopped = box.systemctl("stop", UNIT)
    took = time.monotonic() - asked
    assert stopped.returncode == 0 and took < TIMEOUT_STOP, (took, stopped.stderr)
    assert box.show(UNIT, "ActiveState", "Result", "ExecMainStatus") == {
        "ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}


def test_a_config_error_fails_it_once_with_the_key_in_the_status(home):
    box = everyday(home)
    restarts, cursor = box.show(UNIT, "NRestarts")["NRestarts"], box.cursor()
    box.write(CONFIG, household(home, wifi={"scan_interval": SCAN, "offline_grace": GRACE, "scan_intervall": 3}))
    try:
        assert box.systemctl("restart", UNIT).returncode != 0
        failed = box.show(UNIT, "ActiveState", "Result", "ExecMainStatus", "NRestarts", "InvocationID")
        assert failed["ActiveState"] == "failed" and failed["Result"] == "exit-code", failed
        assert failed["ExecMainStatus"] == "78" and failed["NRestarts"] == restarts, failed
        time.sleep(RESTART_SEC + 3)  # when a restart would have come
        assert box.show(UNIT, *failed) == failed, "systemd restarted a daemon that exited 78"
        shown = status(box)
        assert "status=78/CONFIG" in shown and "wifi.scan_intervall: unknown key" in shown, shown
        assert "Traceback" not in journal_after(box, cursor)
    finally:
        box.write(CONFIG, household(home))
    assert box.systemctl("start", UNIT).returncode == 0, status(box)


def test_the_watchdog_restarts_a_daemon_that_hangs(home):
    """`kill -STOP` stops the daemon's watchdog pings, as a hung loop would; systemd must kill it and start a new
    one. A drop-in shortens the shipped WatchdogSec=60 to 6 s for this test, so that it waits seconds."""
    box = everyday(home)
    drop_in = f"/etc/systemd/system/{UNIT}.service.d/test-watchdog.conf"
    os.makedirs(os.path.dirname(box.path(drop_in)), exist_ok=True)
    box.write(drop_in, "[Service]\nWatchdogSec=6\n")
    try:
        box.systemctl("daemon-reload")
        assert box.systemctl("restart", UNIT).returncode == 0, status(box)  # the daemon learns it at start
        before = box.show(UNIT, "MainPID", "NRestarts", "WatchdogUSec")
        assert before["WatchdogUSec"] == "6s"
        cursor = box.cursor()
        box.run("sh", "-c", f"kill -STOP {before['MainPID']}")

        def restarted():
            now = box.show(UNIT, "MainPID", "ActiveState", "NRestarts")
            return now["ActiveState"] == "active" and now["MainPID"] not in ("0", before["MainPID"]) and now

        after = wait_for("a new daemon", restarted, 6 + TIMEOUT_STOP + RESTART_SEC + 30, box)
        assert int(after["NRestarts"]) == int(before["NRestarts"]) + 1
        assert "Watchdog timeout" in journal_after(box, cursor)
    finally:
        os.unlink(box.path(drop_in))
        box.systemctl("daemon-reload")


def test_the_mqtt_password_reaches_the_broker_as_a_credential(home, tmp_path):
    """With an mqtt section: the password from /etc/presence-monitoring/mqtt_password, TLS with the broker's CA."""
    from testbed.mosquitto import Mosquitto, mosquitto_unavailable_reason

    require(mosquitto_unavailable_reason())
    box = everyday(home)
    with Mosquitto(tmp_path / "broker", box.netns) as broker:
        box.write("/etc/presence-monitoring/mqtt-ca.pem", open(broker.ca_file).read())
        box.write("/etc/presence-monitoring/mqtt_password", broker.users["presence"] + "\n", 0o600)
        mqtt = {"host": "127.0.0.1", "port": broker.tls_port, "ca_file": "/etc/presence-monitoring/mqtt-ca.pem",
                "username": "presence"}
        box.write(CONFIG, household(home, mqtt=mqtt))
        try:
            cursor = box.cursor()
            assert box.systemctl("restart", UNIT).returncode == 0, status(box)
            wait_for("connected", lambda: "MQTT: connected to" in journal_after(box, cursor), 15, box)
            with broker.subscriber(user="homeassistant") as home_assistant:
                home_assistant.wait_for("presence/status", "online")
                home_assistant.wait_for("presence/person/nick/state", "home", timeout=15)
            shown = box.journal("-o", "verbose") + status(box) + box.systemctl("show", UNIT).stdout
            assert broker.users["presence"] not in shown
        finally:
            box.write("/etc/presence-monitoring/mqtt_password", "", 0o600)
            configure(home)
            box.systemctl("restart", UNIT)


def test_the_tls_key_reaches_the_study_relay_as_a_credential(home, tmp_path):
    """graphite.tls under systemd: the key as the graphite_tls_key credential (the service's dynamic user could
    not read a root-owned key file), into the study's cluster (stunnel, carbon-c-relay, three carbon-caches)."""
    from testbed.fleet import Fleet, fleet_unavailable_reason

    require(fleet_unavailable_reason())
    box = everyday(home)
    etc = "/etc/presence-monitoring"
    with Fleet(tmp_path / "fleet", nodes=3, replication=2, netns=box.netns) as fleet:
        cert, key = fleet.home_credentials("h9")
        box.write(f"{etc}/study-ca.pem", open(fleet.ca).read())
        box.write(f"{etc}/h9.pem", open(cert).read())
        box.write(f"{etc}/graphite_tls_key", open(key).read(), 0o600)
        graphite = {"host": "127.0.0.1", "port": fleet.tls_port, "send_interval": 1, "prefix": "study.h9.presence",
                    "tls": {"ca": f"{etc}/study-ca.pem", "cert": f"{etc}/h9.pem"}}
        box.write(CONFIG, household(home, graphite=graphite))
        try:
            started, cursor = int(time.time()), box.cursor()
            assert box.systemctl("restart", UNIT).returncode == 0, status(box)
            metric = "study.h9.presence.nick.is_home"
            wait_for("Nick over TLS in the cluster", lambda: fleet.points(metric, started, int(time.time()) + 1),
                     30, box)
            wait_for("both replicas", lambda: len(fleet.nodes_holding(metric)) == 2, 15, box)
            secret = [line for line in open(key).read().splitlines() if not line.startswith("-----")][0]
            shown = box.journal("-o", "verbose") + status(box) + box.systemctl("show", UNIT).stdout
            assert secret not in shown and "keeping metrics" not in journal_after(box, cursor)
        finally:
            box.write(f"{etc}/graphite_tls_key", "", 0o600)
            configure(home)
            box.systemctl("restart", UNIT)


def test_a_full_state_directory_at_the_start_gives_a_running_unit_that_writes_once_space_returns(home):
    """A log filled the disk overnight, then a reboot: the unit must run and send, not crash-loop."""
    box = everyday(home)
    assert box.systemctl("stop", UNIT).returncode == 0, status(box)
    mounted = box.run("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", STATE_DIRECTORY)
    assert mounted.returncode == 0, mounted.stderr
    try:
        filled = box.run("sh", "-c", f"dd if=/dev/zero of={STATE_DIRECTORY}/filler bs=4k 2>/dev/null; "
                                     f"df -k {STATE_DIRECTORY} | tail -1")
        assert filled.stdout.split()[3] == "0", filled.stdout  # nothing available
        restarts, cursor, started = box.show(UNIT, "NRestarts")["NRestarts"], box.cursor(), time.time()
        assert box.systemctl("start", UNIT).returncode == 0, status(box)
        wait_for_point(home, "nick.is_home", 1.0, started + 2, 20)
        time.sleep(RESTART_SEC + 2)  # when a crash-loop would have shown
        now = box.show(UNIT, "ActiveState", "NRestarts", "MainPID")
        assert now["ActiveState"] == "active" and now["NRestarts"] == restarts, now
        wait_for("the problem on the status line", lambda: "state not saved: No space left on device"
                 in status_text(box), 15, box)
        said = journal_after(box, cursor)
        assert said.count("State not saved to") == 1 and "Traceback" not in said, said
        sent = time.time()
        wait_for_point(home, "nick.is_home", 1.0, sent + 1, 10)  # still live

        box.run("rm", f"{STATE_DIRECTORY}/filler")
        wait_for("the state saved", lambda: "State saved to" in journal_after(box, cursor), SCAN + 15, box)
        wait_for("the status line clear", lambda: "state not saved" not in status_text(box), 15, box)
        assert box.run("test", "-s", f"{STATE_DIRECTORY}/state.json").returncode == 0
        assert box.show(UNIT, "MainPID") == {"MainPID": now["MainPID"]}, "it was restarted"
    finally:
        box.systemctl("stop", UNIT)
        box.run("umount", STATE_DIRECTORY)
        box.systemctl("reset-failed", UNIT)
