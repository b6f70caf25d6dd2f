"""grafana/presence.json: Grafana's own model accepts it, and every query works on a real graphite-web.

The whisper files come from a real carbon-cache fed by a lab run of the daemon: nick home all along,
susan arriving, tom leaving, a guest's phone, and an electricity series the test writes itself.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from testbed.carbon import Carbon, carbon_unavailable_reason, require
from tests.conftest import ROOT, make_config, write_config
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason
from testbed.lab.netns_thread import call_in_netns

DASHBOARD = os.path.join(ROOT, "grafana", "presence.json")
PEOPLE = {"nick": "02:00:00:00:01:01", "susan": "02:00:00:00:02:01", "tom": "02:00:00:00:06:01"}
POWER = "home.energy.power"
# Keys Grafana's dashboard model does not describe: the import envelope, the built-in annotation's
# marker, and the Graphite plugin's own annotation query fields.
OUTSIDE_THE_MODEL = re.compile(r"^\.(__inputs|__requires|annotations\.list\[0\]\.builtIn|"
                               r"annotations\.list\[\d\]\.target\.(refId|target|textEditor|fromAnnotations))$")


def dashboard():
    with open(DASHBOARD) as handle:
        return json.load(handle)


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
            time.sleep(4)
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


def render(url, targets, start, end, fmt="json", **options):
    query = [("target", t) for t in targets] + [("from", str(start)), ("until", str(end)), ("format", fmt)]
    query += [(key, str(value)) for key, value in options.items()]
    with urllib.request.urlopen(f"{url}/render?{urllib.parse.urlencode(query)}", timeout=30) as response:
        body = response.read()
    return json.loads(body) if fmt == "json" else body


def people_options(url):
    """What Grafana lists for `$person`: `${prefix}.*` from graphite-web, filtered by the variable's regex."""
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "person")
    regex = re.compile(variable["regex"].strip("/"))
    with urllib.request.urlopen(f"{url}/metrics/find?query=home.presence.*", timeout=30) as response:
        names = [node["text"] for node in json.loads(response.read())]
    return sorted(name for name in names if regex.match(name))


def expand(expression, person):
    """Interpolate as Grafana does for Graphite: several values become `{a,b}`."""
    people = person if isinstance(person, str) else "{" + ",".join(person) + "}"
    return (expression.replace("${prefix}", "home.presence").replace("$person", people)
            .replace("$power", POWER))


def all_queries():
    board = dashboard()
    queries = [(panel["title"], t["target"]) for panel in board["panels"] for t in panel["targets"]]
    queries += [(a["name"], a["target"]["target"]) for a in board["annotations"]["list"][1:]]
    return queries


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
def test_each_panel_renders_to_png(graphite, tmp_path):
    url, start, end = graphite
    folder = os.path.join(ROOT, "docs", "img") if os.environ.get("PRESENCE_WRITE_DOCS_IMG") else str(tmp_path)
    os.makedirs(folder, exist_ok=True)
    for panel in dashboard()["panels"]:
        right = {o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]
                 if {"id": "custom.axisPlacement", "value": "right"} in o["properties"]}
        targets = [expand(t["target"], people_options(url)) for t in panel["targets"]]
        # The panel's right axis, as graphite-web draws one.
        targets = [f"secondYAxis({t})" if any(f"'{name}'" in t for name in right) else t for t in targets]
        png = render(url, targets, start, end, fmt="png", width=900, height=260, lineMode="staircase",
                     title=panel["title"], hideLegend="false", yMin=0, yMinRight=0)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
        name = re.sub(r"[^a-z0-9]+", "-", panel["title"].lower()).strip("-")
        with open(os.path.join(folder, f"panel-{name}.png"), "wb") as handle:
            handle.write(png)
