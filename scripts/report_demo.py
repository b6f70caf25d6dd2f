"""`make report-demo`: the report on the tests' synthetic household, without a Graphite of your own.

Writes 28 days of that household (testbed/synthetic_household.py) around the last DST change as whisper
files in a temp folder, with two things a household would want to hear about: a 2 kW heater left on for
3 hours on the first Tuesday while nobody is home, and a 45 W device that stays on from the third Monday.
Serves them with Debian's graphite-web on loopback and runs `report --price 0.32 --currency EUR` against
it; with --png the figure is drawn too. Needs graphite-web (apt-get install graphite-web).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from testbed import synthetic_household as home  # noqa: E402
from testbed.carbon import free_port  # noqa: E402
from testbed.graphite_web import GraphiteWeb, graphite_web_unavailable_reason  # noqa: E402


HEATER_W, DEVICE_W = 2000.0, 45.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", help="also draw the figure into this file")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reason = graphite_web_unavailable_reason()
    if reason:
        sys.exit(reason)
    folder = tempfile.mkdtemp(prefix="presence-report-demo-")
    try:
        change = home.last_dst_change(time.time())
        first = change - timedelta(days=change.weekday() + 14)
        start, is_home, anyone, watts = home.household(first, 28)
        tuesday = (home.local(first + timedelta(days=1), 10) - start) // 60
        watts[tuesday:tuesday + 180] = [w + HEATER_W for w in watts[tuesday:tuesday + 180]]
        device = (home.local(first + timedelta(days=14), 0) - start) // 60
        watts[device:] = [w + DEVICE_W for w in watts[device:]]
        whisper_dir = os.path.join(folder, "whisper")
        home.write_household(whisper_dir, start, is_home, anyone, watts)
        web = GraphiteWeb(os.path.join(folder, "web"), whisper_dir, free_port()).start()
        try:
            config = home.write_report_config(os.path.join(folder, "people.yaml"), web.url)
            argv = [sys.executable, os.path.join(ROOT, "presence_to_graphite.py"), "--config", config, "report",
                    "--from", str(start), "--until", str(start + len(watts) * 60), "--price", "0.32",
                    "--currency", "EUR"]
            argv += (["--json"] if args.json else []) + (["--png", os.path.abspath(args.png)] if args.png else [])
            return subprocess.run(argv, cwd=ROOT).returncode
        finally:
            web.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
