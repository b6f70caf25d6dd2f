"""grafana/presence.json as graphite-web render queries: the variables expanded as Grafana does, and each
panel drawn to PNG as near to Grafana's look as graphite-web's own options go.

Only display functions wrap a panel's own targets: `secondYAxis` for a right axis, `color`, `stacked` for
a filled series, one stacked band per person for a state timeline, `drawAsInfinite` for annotations.
"""

import json
import os
import re
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASHBOARD = os.path.join(ROOT, "grafana", "presence.json")
# Grafana's classic palette, in its order: the colours of series without a fixed one.
PALETTE = ("#73bf69", "#f2cc0c", "#5794f2", "#ff780a", "#f2495c", "#b877d9")
# Grafana's named colours, as graphite-web's own names would draw them too brightly.
NAMED = {"green": "#73bf69", "orange": "#ff9830", "red": "#f2495c", "yellow": "#fade2a"}
UNITS = {"watt": "W"}
# A state timeline's row: the state's band, then a gap; graphite-web rounds yMax, so a row is 1 high.
ROW_BAND = 0.85


def dashboard():
    with open(DASHBOARD) as handle:
        return json.load(handle)


def default(name):
    """A textbox variable's value as the dashboard ships it (`prefix`, `power`)."""
    return next(v["query"] for v in dashboard()["templating"]["list"] if v["name"] == name)


def expand(expression, person):
    """Interpolate as Grafana does for Graphite: several values become `{a,b}`."""
    people = person if isinstance(person, str) else "{" + ",".join(person) + "}"
    return (expression.replace("${prefix}", default("prefix")).replace("$person", people)
            .replace("$power", default("power")))


def all_queries():
    """(title, target) of every panel query and annotation query."""
    board = dashboard()
    queries = [(panel["title"], t["target"]) for panel in board["panels"] for t in panel["targets"]]
    queries += [(a["name"], a["target"]["target"]) for a in board["annotations"]["list"][1:]]
    return queries


def render(url, targets, start, end, fmt="json", **options):
    query = [("target", t) for t in targets] + [("from", str(start)), ("until", str(end)), ("format", fmt)]
    query += [(key, str(value)) for key, value in options.items()]
    with urllib.request.urlopen(f"{url}/render?{urllib.parse.urlencode(query)}", timeout=60) as response:
        body = response.read()
    return json.loads(body) if fmt == "json" else body


def people_options(url):
    """What Grafana lists for `$person`: `${prefix}.*` from graphite-web, filtered by the variable's regex."""
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "person")
    regex = re.compile(variable["regex"].strip("/"))
    query = urllib.parse.quote(expand("${prefix}.*", ""))
    with urllib.request.urlopen(f"{url}/metrics/find?query={query}", timeout=30) as response:
        names = [node["text"] for node in json.loads(response.read())]
    return sorted(name for name in names if regex.match(name))


def file_name(panel):
    """`panel-who-is-home.png` for the panel titled "Who is home"."""
    return "panel-" + re.sub(r"[^a-z0-9]+", "-", panel["title"].lower()).strip("-") + ".png"


def panel_query(url, panel, start, end, people, annotations=False):
    """(targets, drawing options) that draw the panel for `people` from `start` to `end`."""
    if panel["type"] in ("state-timeline", "stat"):
        targets, drawing = _rows(url, panel, start, end, people)
    else:
        targets, drawing = _lines(panel, people)
        if annotations:
            targets += _annotations(people)
    return targets, {"title": panel["title"], "lineMode": "staircase", "hideLegend": "false", "width": 900,
                     "height": 280, **drawing}


def panel_png(url, panel, start, end, people, annotations=False, **options):
    """The panel drawn by graphite-web (PNG bytes); `options` add to or override graphite-web's."""
    targets, drawing = panel_query(url, panel, start, end, people, annotations)
    return render(url, targets, start, end, fmt="png", **drawing, **options)


def _mapping(panel):
    """The panel's value mapping: {"0": {"text": "away", "color": ...}, "1": {...}}."""
    return panel["fieldConfig"]["defaults"]["mappings"][0]["options"]


def _rows(url, panel, start, end, people):
    """One band per person, as a state timeline draws its rows: the person's colour while home, grey
    while away. A stat panel (the latest value) gets the same bands, the legend saying the latest state."""
    away = _mapping(panel)["0"]["color"]
    latest = _latest_states(url, panel, start, end, people) if panel["type"] == "stat" else {}
    targets, colours = [], []
    for i, person in enumerate(people):
        for target in panel["targets"]:
            query = expand(target["target"], person)
            label = f"{person}: {latest[person]}" if person in latest else person
            targets += [f"alias(scale({query}, {ROW_BAND}), '{label}')",
                        f"alias(offset(scale({query}, -{ROW_BAND}), {ROW_BAND}), '')",
                        f"alias(offset(scale({query}, 0), {1 - ROW_BAND:.2f}), '')"]
            colours += [PALETTE[i % len(PALETTE)], away, "#ffffff"]
    rows = len(targets) // 3
    return targets, {"areaMode": "stacked", "colorList": ",".join(colours), "hideYAxis": "true", "yMin": 0,
                     "yMax": rows, "hideGrid": "true", "lineWidth": 0, "height": 80 + 40 * rows}


def _latest_states(url, panel, start, end, people):
    """{person: "home" or "away"}: what the stat panel shows, its mapping applied to the last value."""
    targets = [expand(t["target"], people) for t in panel["targets"]]
    latest = {}
    for series in render(url, targets, start, end):
        values = [value for value, _ in series["datapoints"] if value is not None]
        if values:
            latest[series["target"]] = _mapping(panel)[str(round(values[-1]))]["text"]
    return latest


def _lines(panel, people):
    """The panel's targets with its overrides applied: right axis, fixed colours, fill."""
    overrides = {o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
                 for o in panel["fieldConfig"]["overrides"]}
    defaults = panel["fieldConfig"]["defaults"]
    named = [re.search(r"'([^']*)'\)$", t["target"]) for t in panel["targets"]]
    named = [name.group(1) if name else None for name in named]
    fills = [overrides.get(name, {}).get("custom.fillOpacity", defaults["custom"]["fillOpacity"]) for name in named]
    drawing = {"yMin": 0, "areaAlpha": max(fills) / 100, "colorList": ",".join(PALETTE),
               "vtitle": UNITS.get(defaults.get("unit"), "")}
    if min(fills) > 0:
        drawing["areaMode"] = "all"
    targets = []
    for target, name, fill in zip(panel["targets"], named, fills):
        query, override = expand(target["target"], people), overrides.get(name, {})
        if fill and "areaMode" not in drawing:
            query = f"stacked({query}, '{name}')"  # filled alone: one series, its own stack
        if "color" in override:
            query = f"color({query}, '{NAMED.get(override['color']['fixedColor'])}')"
        if override.get("custom.axisPlacement") == "right":
            query = f"alias(secondYAxis({query}), '{name}')"
            drawing.update(yMinRight=0, vtitleRight=name)
            if override.get("decimals") == 0:
                drawing["yStepRight"] = 1
        targets.append(query)
    return targets, drawing


def _annotations(people):
    """The dashboard's annotation queries as dashed vertical lines in their colours, one per event."""
    lines = []
    for annotation in dashboard()["annotations"]["list"][1:]:
        colour = NAMED.get(annotation["iconColor"], annotation["iconColor"])
        query = f"drawAsInfinite(color({expand(annotation['target']['target'], people)}, '{colour}'))"
        lines.append(f"alias(dashed(lineWidth({query}, 3)), '{annotation['name'].lower()}')")
    return lines
