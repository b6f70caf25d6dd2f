"""grafana/presence.json: Grafana's own model accepts it, and every query works on a real graphite-web.

The whisper files come from a real carbon-cache fed by a lab run of the daemon: nick home all along,
susan arriving, tom leaving, a guest's phone, and an electricity series the test writes itself.
"""

import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from testbed.carbon import Carbon, carbon_unavailable_reason, require
from testbed.dashboard_render import (all_queries, dashboard, default, expand, panel_png, panel_query,
                                      people_options, render)
from tests.conftest import ROOT, make_config, write_config
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason
from testbed.lab.netns_thread import call_in_netns

PEOPLE = {"nick": "02:00:00:00:01:01", "susan": "02:00:00:00:02:01", "tom": "02:00:00:00:06:01"}
POWER = default("power")
# Keys Grafana's dashboard model does not describe: the import envelope, the built-in annotation's
# marker, and the Graphite plugin's own annotation query fields.
OUTSIDE_THE_MODEL = re.compile(r"^\.(__inputs|__requires|annotations\.list\[0\]\.builtIn|"
                               r"annotations\.list\[\d\]\.target\.(refId|target|textEditor|fromAnnotations))$")


def dropped_keys(ours, theirs, path=""):
    """Paths of `ours` that did not survive a trip through the model (`theirs`)."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [path]
        return [p for key, value in ours.items()
                for p in ([f"{path}.{key}"] if key not in theirs else dropped_keys(value, theirs[key], f"{path}.{key}"))]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [path]
        return [p for i, (a, b) in enumerate(zip(ours, theirs)) for p in dropped_keys(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [f"{path} ({ours!r} became {theirs!r})"]


def test_grafanas_dashboard_model_accepts_every_key():
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    raw = dashboard()
    model = Dashboard.from_json(raw)
    for panel in model.panels:
        assert not isinstance(panel.options, dict), f"panel type {panel.type!r} is not one Grafana knows"
    round_trip = json.loads(json.dumps(model, cls=JSONEncoder))
    unknown = [path for path in dropped_keys(raw, round_trip) if not OUTSIDE_THE_MODEL.match(path)]
    assert unknown == []
    assert raw["time"] == {"from": "now-24h", "to": "now"} and raw["refresh"] == "30s"
    assert raw["__inputs"][0]["pluginId"] == "graphite"
    for panel in raw["panels"]:
        custom = panel["fieldConfig"]["defaults"].get("custom", {})
        if panel["type"] == "timeseries":
            assert custom["lineInterpolation"] == "stepAfter" and custom["spanNulls"] is False


def send_power(port, start, end):
    """The household's own electricity series, as a smart-meter exporter would write it."""
    lines = "".join(f"{POWER} {300 + 200 * ((stamp // 4) % 3)} {stamp}\n" for stamp in range(start, end + 1))
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(lines.encode())


@pytest.fixture(scope="module")
def graphite(tmp_path_factory):
    """graphite-web on loopback, over whisper files written from a lab run of the daemon."""
    from testbed.lab import Lan, lab_unavailable_reason

    require(lab_unavailable_reason() or carbon_unavailable_reason() or graphite_web_unavailable_reason())
    folder = tmp_path_factory.mktemp("dashboard")
    with Lan() as lan:
        devices = {name: lan.add_device(name, mac, f"198.51.100.{11 + i}") for i, (name, mac) in enumerate(PEOPLE.items())}
        lan.add_device("guest", "da:a1:19:00:00:99", "198.51.100.99")
        devices["susan"].leave()
        carbon = Carbon(folder / "carbon", netns=lan.scanner_ns).start()
        raw = make_config(wifi={"scan_interval": 1, "offline_grace": 3}, metrics={"guest_devices": True},
                          graphite={"host": "127.0.0.1", "port": carbon.port, "send_interval": 1})
        raw["people"] = [{"name": name, "macs": [mac]} for name, mac in PEOPLE.items()]
        config = write_config(folder / "people.yaml", raw)
        start = int(time.time())
        daemon = lan.popen(lan.scanner_ns, [sys.executable, f"{ROOT}/presence_to_graphite.py", "--config", config,
                                            "--state", str(folder / "state.json"), "run"],
                           cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Susan's first points must say away before she arrives: on a loaded machine the daemon's start
            # (imports, the first sweep's search for her phone) can take longer than a fixed pause.
            carbon.wait_for_points("home.presence.susan.is_home", start, start + 120, 3, timeout=60)
            devices["susan"].join()
            time.sleep(2)
            devices["tom"].leave()
            time.sleep(7)
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=10)
        end = int(time.time())
        call_in_netns(lan.scanner_ns, send_power, carbon.port, start, end)
        carbon.wait_for_points("home.presence.count_home", start, end, end - start - 4)
        carbon.wait_for_points(POWER, start, end, end - start)
        time.sleep(1)
        carbon.stop()
    web = GraphiteWeb(folder / "web", carbon.whisper_dir, carbon.cache_port).start()
    try:
        yield web.url, start, end
    finally:
        web.stop()


def values_of(series):
    return [value for value, _ in series["datapoints"] if value is not None]


@pytest.mark.lab
def test_person_variable_lists_people_not_aggregates(graphite):
    url, _, _ = graphite
    assert people_options(url) == ["nick", "susan", "tom"]


@pytest.mark.lab
@pytest.mark.parametrize("selection", ["all", "two", "one"])
def test_every_query_returns_the_scenario(graphite, selection):
    url, start, end = graphite
    everyone = people_options(url)
    person = {"all": everyone, "two": ["nick", "tom"], "one": "susan"}[selection]
    chosen = set([person] if isinstance(person, str) else person)
    for title, expression in all_queries():
        series = {s["target"]: s for s in render(url, [expand(expression, person)], start, end)}
        if "events" in expression:
            kind = "arrival" if "arrival" in expression else "departure"
            happened = {"arrival": {"nick", "susan", "tom"}, "departure": {"tom"}}[kind]
            assert set(series) == happened & chosen, (title, selection)
            assert all(values_of(one) == [1.0] for one in series.values())  # one sparse point per event
            continue
        assert series, f"{title}: {expand(expression, person)} returned nothing"
        for name, one in series.items():
            assert values_of(one), f"{title}: {name} has no values"
        if "is_home" in expression:
            assert set(series) == chosen
            expected = {"nick": (1, 1), "susan": (0, 1), "tom": (1, 0)}
            for name, one in series.items():
                values = values_of(one)
                assert (values[0], values[-1]) == expected[name], (title, name, values)
        elif "from_wifi" in expression:
            assert set(series) == {f"{p}.{source}" for p in chosen for source in ("from_wifi", "from_homeassistant")}
            assert all(set(values_of(series[f"{p}.from_homeassistant"])) == {0} for p in chosen)
        elif "count_home" in expression:
            assert set(series) == {"people home"} and values_of(series["people home"])[-1] == 2
        elif "$power" in expression:
            assert set(series) == {"power"} and set(values_of(series["power"])) == {300.0, 500.0, 700.0}
        elif "devices_present_count" in expression:
            assert set(series) == {"devices present"} and max(values_of(series["devices present"])) == 4
        elif "guest_devices_count" in expression:
            assert set(values_of(series["guest devices"])) == {1}


@pytest.mark.lab
def test_each_panel_renders_to_png(graphite):
    """As scripts/dashboard_pictures.py draws docs/img/panel-*.png, annotations included: every target,
    wrapped in graphite-web's display functions, still returns its series."""
    url, start, end = graphite
    people = people_options(url)
    for panel in dashboard()["panels"]:
        targets, _ = panel_query(url, panel, start, end, people, annotations=True)
        for target in targets:
            assert any(values_of(s) for s in render(url, [target], start, end)), (panel["title"], target)
        png = panel_png(url, panel, start, end, people, annotations=True)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000, panel["title"]
