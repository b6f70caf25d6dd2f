#!/usr/bin/python3
"""The study's Graphite cluster on one machine, from Debian packages (docs/fleet.md); standard library only.

stunnel (mutual TLS, the study CA) -> carbon-c-relay (carbon_ch, replication R) -> N carbon-caches, a graphite-web
per cache and a front one over them (CLUSTER_SERVERS). `configure` writes every file and systemd unit into --dir,
`run` runs them in the foreground (`--only NAME`: one part), `disk` says what a home needs on disk.
"""

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time

# 5 s presence ticks kept two days as sent, 1-minute means for `report` (28 days and more), 10-minute ones 5 years.
DEFAULT_RETENTIONS = "5s:2d,1m:90d,10m:5y"
SERIES_PER_HOME = 27
# whisper's file: 16 bytes of metadata, 12 per archive header, 12 per point (a 4-byte time, an 8-byte double).
METADATA_BYTES, ARCHIVE_BYTES, POINT_BYTES = 16, 12, 12
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800, "years": 31536000}
# Points the relay holds for each cache it cannot reach (its -q; about 100 bytes each): a minute of 1,000 homes.
DEFAULT_RELAY_QUEUE = 1_000_000
STOP_TIMEOUT = 15
# xFilesFactor 0: a coarse point exists when any fine one does (a home that was offline part of an hour still counts).
SCHEMAS = "[study]\npattern = .*\nretentions = {}\n"
AGGREGATION = "[study]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n"


class FleetError(Exception):
    """A configuration the cluster cannot be built from; the message says which option."""


def parse_retentions(text):
    """`[(seconds_per_point, points), ...]` of a carbon retentions string, as whisper reads it."""
    archives = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)([a-z]*):(\d+)([a-z]*)\s*", part)
        if not match:
            raise FleetError(f"--retentions: '{part}' is not PRECISION:RETENTION (e.g. 10s:7d)")
        step = int(match[1]) * _seconds(match[2] or "s")
        points = int(match[3]) * _seconds(match[4]) // step if match[4] else int(match[3])
        archives.append((step, points))
    for (step, points), (next_step, next_points) in zip(archives, archives[1:]):
        if next_step % step or next_step * next_points <= step * points:
            raise FleetError(f"--retentions: each archive must be coarser by a whole factor and reach further: {text}")
    return archives


def _seconds(unit):
    found = [seconds for name, seconds in UNITS.items() if name.startswith(unit)]
    if not found:
        raise FleetError(f"--retentions: unknown unit '{unit}'")
    return found[0]


def whisper_bytes(archives):
    """The size of one whisper file with these archives (allocated whole when the series is created)."""
    return METADATA_BYTES + ARCHIVE_BYTES * len(archives) + POINT_BYTES * sum(points for _, points in archives)


def disk_table(retentions, replication, series=SERIES_PER_HOME):
    """Rows (what, series, bytes of one copy, bytes with replication, years covered, bytes a year)."""
    archives = parse_retentions(retentions)
    years = max(step * points for step, points in archives) / UNITS["years"]
    one = whisper_bytes(archives)
    return [(what, count, one * count, one * count * replication, years, one * count * replication / years)
            for what, count in (("presence series of a home", series), ("electricity series of a home", 1))]


def parse_ports(text, count, option):
    """`count` ports from `FIRST` (counting up) or from `P1,P2,...` (one per node)."""
    ports = [int(port) for port in str(text).split(",") if port.strip().isdigit()]
    ports = [ports[0] + i for i in range(count)] if len(ports) == 1 and "," not in str(text) else ports
    if len(ports) != count or not all(0 < port < 65536 for port in ports):
        raise FleetError(f"{option}: a first port or {count} ports, comma-separated, in 1..65535, not '{text}'")
    return ports


def layout(args):
    """What `run` and the writers need, from configure's arguments (written to D/fleet.json)."""
    if args.nodes < 1 or not 1 <= args.replication <= args.nodes:
        raise FleetError(f"--replication {args.replication} needs 1 <= replication <= --nodes ({args.nodes})")
    folder, pki = os.path.abspath(args.dir), os.path.abspath(args.pki)
    for name in ("ca.crt", "crl.pem", f"servers/{args.server_name}.crt", f"servers/{args.server_name}.key"):
        if not os.path.isfile(os.path.join(pki, name)):
            raise FleetError(f"--pki: {pki}/{name} is missing (fleet/pki.sh init, then server {args.server_name})")
    parse_retentions(args.retentions)
    caches, queries, webs = (parse_ports(text, args.nodes, option) for text, option in (
        (args.first_cache_port, "--first-cache-port"), (args.first_query_port, "--first-query-port"),
        (args.web_port, "--web-port")))
    nodes = [{"name": f"node{i + 1}", "line_port": caches[i], "query_port": queries[i], "web_port": webs[i]}
             for i in range(args.nodes)]
    keep = ("server_name", "tls_listen", "relay_port", "front_port", "replication", "retentions", "relay_queue")
    return {"dir": folder, "pki": pki, **{key: getattr(args, key) for key in keep}, "nodes": nodes}


def carbon_conf(fleet, node):
    """carbon.conf of one cache: its own folder, loopback listeners only, no pickle or UDP receiver."""
    base = os.path.join(fleet["dir"], node["name"])
    settings = {
        "STORAGE_DIR": base, "LOCAL_DATA_DIR": f"{base}/whisper", "CONF_DIR": base, "WHITELISTS_DIR": f"{base}/lists",
        "LOG_DIR": f"{base}/log", "PID_DIR": base, "USER": "", "ENABLE_TAGS": "False", "MAX_CACHE_SIZE": "inf",
        # carbon drops the points of a series it may not create yet (droppedCreates): never limit creation.
        "MAX_UPDATES_PER_SECOND": "500", "MAX_CREATES_PER_MINUTE": "inf", "LINE_RECEIVER_INTERFACE": "127.0.0.1",
        "LINE_RECEIVER_PORT": str(node["line_port"]), "PICKLE_RECEIVER_PORT": "0", "ENABLE_UDP_LISTENER": "False",
        "CACHE_QUERY_INTERFACE": "127.0.0.1", "CACHE_QUERY_PORT": str(node["query_port"]),
        "LOG_LISTENER_CONNECTIONS": "False", "WHISPER_FALLOCATE_CREATE": "True"}
    return "# Written by fleet/cluster.py configure.\n[cache]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())


def relay_conf(fleet):
    """carbon-c-relay.conf: a plaintext listener on loopback (stunnel's only), every series to R caches."""
    members = "".join(f"    127.0.0.1:{node['line_port']}={node['name']}\n" for node in fleet["nodes"])
    return (f"# Written by fleet/cluster.py configure. Instance names, not ports, place a series on the ring.\n"
            f"listen type linemode 127.0.0.1:{fleet['relay_port']} proto tcp;\n\n"
            f"cluster study carbon_ch replication {fleet['replication']}\n{members}    ;\n\n"
            f"match * send to study stop;\n")


def stunnel_conf(fleet):
    """stunnel.conf: the only public port; a client needs a certificate the study CA signed and did not revoke."""
    pki, name = fleet["pki"], fleet["server_name"]
    return (f"; Written by fleet/cluster.py configure. SIGHUP rereads it and the CRL.\n"
            f"foreground = yes\npid =\n\n[graphite-tls]\naccept = {fleet['tls_listen']}\n"
            f"connect = 127.0.0.1:{fleet['relay_port']}\ncert = {pki}/servers/{name}.crt\n"
            f"key = {pki}/servers/{name}.key\nCAfile = {pki}/ca.crt\nCRLfile = {pki}/crl.pem\n"
            f"verifyChain = yes\nrequireCert = yes\nsslVersionMin = TLSv1.2\n")


def web_settings(fleet, node=None):
    """A graphite-web settings module: a node's reads its whisper files and cache; the front's asks the nodes."""
    name = node["name"] if node else "front"
    base = os.path.join(fleet["dir"], "web", name)
    lines = [f"SECRET_KEY = {secrets.token_hex(24)!r}", f"STORAGE_DIR = {base!r}",
             f"LOG_DIR = {os.path.join(base, 'log')!r}", f"INDEX_FILE = {os.path.join(base, 'index')!r}",
             f"DATABASES = {{'default': {{'NAME': {os.path.join(base, 'graphite.db')!r}, "
             f"'ENGINE': 'django.db.backends.sqlite3'}}}}", "TIME_ZONE = 'UTC'", "DEFAULT_XFILES_FACTOR = 0"]
    if node:
        whisper = os.path.join(fleet["dir"], name, "whisper")
        lines += [f"WHISPER_DIR = {whisper!r}", f"STANDARD_DIRS = [{whisper!r}]",
                  f"CARBONLINK_HOSTS = ['127.0.0.1:{node['query_port']}:{name}']"]
    else:
        servers = [f"127.0.0.1:{other['web_port']}" for other in fleet["nodes"]]
        # graphite-web reads an existing WHISPER_DIR even with STANDARD_DIRS empty: this one never exists.
        lines += [f"WHISPER_DIR = {os.path.join(base, 'no-local-data')!r}", "STANDARD_DIRS = []",
                  "CARBONLINK_HOSTS = []", f"CLUSTER_SERVERS = {servers!r}",
                  # A node that does not answer costs a read this long, then is skipped for REMOTE_RETRY_DELAY.
                  "REMOTE_FIND_TIMEOUT = 2.0", "REMOTE_FETCH_TIMEOUT = 4.0", "REMOTE_RETRY_DELAY = 30.0"]
    return f"# Written by fleet/cluster.py (GRAPHITE_SETTINGS_MODULE=fleet_{name}).\n" + "\n".join(lines + [""])


def parts(fleet):
    """`{name: (argv, env)}` of every process, in start order: caches, relay, stunnel, node webs, front."""
    folder = fleet["dir"]
    found = {n["name"]: (["carbon-cache", f"--config={folder}/{n['name']}/carbon.conf", "--nodaemon", "start"], {})
             for n in fleet["nodes"]}
    # -B: a backlog for every home's stunnel connection coming back at once after a restart.
    found["relay"] = (["carbon-c-relay", "-f", f"{folder}/carbon-c-relay.conf", "-q", str(fleet["relay_queue"]),
                       "-B", "1024", "-H", fleet["server_name"]], {})
    found["stunnel"] = (["stunnel4", f"{folder}/stunnel.conf"], {})
    for name, settings, port in [(f"web{n['name'][4:]}", n["name"], n["web_port"]) for n in fleet["nodes"]] + \
            [("front", "front", fleet["front_port"])]:
        env = {"PYTHONPATH": os.path.join(folder, "web"), "GRAPHITE_SETTINGS_MODULE": f"fleet_{settings}"}
        found[name] = (["graphite-manage", "runserver", f"127.0.0.1:{port}", "--noreload"], env)
    return found


UNIT = """# Written by fleet/cluster.py configure; see docs/fleet.md.
[Unit]
Description=Study Graphite cluster: {what}
PartOf=fleet.target
After=network.target

[Service]
{service}Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
ProtectSystem=full
PrivateTmp=yes
"""


def units(fleet):
    """`{file name: text}` of the systemd units (graphite-web under Debian's gunicorn, not the test server)."""
    found, reload = {}, "ExecReload=/bin/sh -c 'kill -HUP $MAINPID'"
    for name, (argv, env) in parts(fleet).items():
        command = "/usr/bin/" + " ".join(argv)
        if argv[0] == "graphite-manage":
            command = f"/usr/bin/gunicorn --bind {argv[2]} --workers 2 graphite.wsgi:application"
            lines = ["User=_graphite", *(f"Environment={key}={value}" for key, value in env.items()),
                     "ExecStartPre=/usr/bin/graphite-manage migrate --run-syncdb --verbosity 0"]
        else:  # SIGHUP: stunnel rereads the CRL, carbon-c-relay its config (a new node); both keep their connections
            lines = {"stunnel": ["User=stunnel4", reload], "relay": ["DynamicUser=yes", "LimitNOFILE=65536", reload]
                     }.get(name, ["User=_graphite", "TimeoutStopSec=60"])
        found[f"fleet-{name}.service"] = UNIT.format(what=name, service="".join(
            f"{line}\n" for line in lines + [f"ExecStart={command}"]))
    found["fleet.target"] = (f"[Unit]\nDescription=Study Graphite cluster\nWants={' '.join(found)}\n\n"
                             "[Install]\nWantedBy=multi-user.target\n")
    return found


def configure(args):
    """Write every file of the cluster into --dir; return the paths written."""
    fleet = layout(args)
    folder = fleet["dir"]
    files = {"fleet.json": json.dumps(fleet, indent=2) + "\n", "carbon-c-relay.conf": relay_conf(fleet),
             "stunnel.conf": stunnel_conf(fleet), "web/fleet_front.py": web_settings(fleet)}
    for node, name in ((node, node["name"]) for node in fleet["nodes"]):
        files.update({f"{name}/carbon.conf": carbon_conf(fleet, node), f"{name}/storage-aggregation.conf": AGGREGATION,
                      f"{name}/storage-schemas.conf": SCHEMAS.format(fleet["retentions"]),
                      f"web/fleet_{name}.py": web_settings(fleet, node)})
    for sub in [f"{node['name']}/{sub}" for node in fleet["nodes"] for sub in ("whisper", "log", "lists")] + \
            [f"web/{node['name']}/log" for node in fleet["nodes"]] + ["web/front/log"]:
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    files.update({f"systemd/{name}": text for name, text in units(fleet).items()})
    for path, text in ((os.path.join(folder, name), text) for name, text in files.items()):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    return [os.path.join(folder, name) for name in files]


def run(folder, only=None):
    """Run one part (exec'd: its pid is this one) or all of them, until SIGTERM or SIGINT; then stop them all."""
    with open(os.path.join(os.path.abspath(folder), "fleet.json")) as handle:
        found = parts(json.load(handle))
    if only:
        if only not in found:
            raise FleetError(f"--only: '{only}' is none of {', '.join(found)}")
        argv, env = found[only]
        env = {**os.environ, **env}
        if argv[0] == "graphite-manage":
            subprocess.run(["graphite-manage", "migrate", "--run-syncdb", "--verbosity", "0"], env=env, check=True)
        os.execvpe(argv[0], argv, env)
    children = {name: subprocess.Popen([sys.executable, os.path.abspath(__file__), "run", "--dir", folder,
                                        "--only", name]) for name in found}
    print("fleet: " + ", ".join(f"{name} (pid {child.pid})" for name, child in children.items()), flush=True)
    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))
    signal.signal(signal.SIGHUP, lambda *_: children["stunnel"].send_signal(signal.SIGHUP))
    failed = None
    while not stopping and not failed:
        failed = next((name for name, child in children.items() if child.poll() is not None), None)
        time.sleep(0.2)
    print(f"fleet: {failed} exited with {children[failed].returncode}; stopping the others" if failed else
          "fleet: stopping", flush=True)
    # The door first, then the relay (it still hands its queue to the caches), the caches last.
    for name in ["front"] + [n for n in found if n.startswith("web")] + ["stunnel", "relay"] + \
            [n for n in found if n.startswith("node")]:
        children[name].terminate()
        try:
            children[name].wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            children[name].kill()
            children[name].wait()
    return 1 if failed else 0


def main(argv=None):
    """The command line; exit 2 with the reason for a bad configuration."""
    parser = argparse.ArgumentParser(prog="cluster.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    conf = commands.add_parser("configure", help="write the cluster's files into --dir")
    for flag, default, kind in (("--dir", None, str), ("--nodes", None, int), ("--pki", None, str),
                                ("--server-name", "relay", str), ("--replication", 2, int),
                                ("--tls-listen", "0.0.0.0:2004", str), ("--relay-port", 2003, int),
                                ("--first-cache-port", "2103", str), ("--first-query-port", "7102", str),
                                ("--web-port", "8081", str), ("--front-port", 8080, int),
                                ("--retentions", DEFAULT_RETENTIONS, str), ("--relay-queue", DEFAULT_RELAY_QUEUE, int)):
        conf.add_argument(flag, default=default, type=kind, required=default is None)
    running = commands.add_parser("run", help="run the cluster of --dir in the foreground")
    running.add_argument("--dir", required=True)
    running.add_argument("--only", help="one part: nodeN, relay, stunnel, webN, front")
    disk = commands.add_parser("disk", help="the disk a home needs, as whisper allocates it")
    disk.add_argument("--retentions", default=DEFAULT_RETENTIONS)
    disk.add_argument("--replication", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        if args.command == "configure":
            print("\n".join(configure(args)))
        elif args.command == "run":
            return run(args.dir, args.only)
        else:
            print(f"retentions {args.retentions}, replication {args.replication}")
            for what, count, one, total, years, per_year in disk_table(args.retentions, args.replication):
                print(f"{what}: {count} x {one // count:,} B = {one / 1e6:,.1f} MB a copy, {total / 1e6:,.1f} MB "
                      f"replicated, covering {years:g} years: {per_year / 1e6:,.1f} MB a year")
    except FleetError as error:
        print(f"cluster.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
