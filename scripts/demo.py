"""Run `once --dry-run` on the shipped example config inside a throwaway namespaced LAN.

The example config describes 198.51.100.0/24, a range reserved for documentation; this
script builds that LAN from network namespaces (so no packet reaches a real network),
puts some of the example household's devices on it, and runs the daemon there once.
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from testbed.lab import Lan, lab_unavailable_reason  # noqa: E402

EXAMPLE = os.path.join("presence", "people_config.example.yaml")
DEVICES = [
    ("nick-phone", "aa:bb:cc:dd:ee:01", "198.51.100.21"),
    ("susan-phone", "3c:22:fb:10:20:02", "198.51.100.22"),
    ("charlie-laptop", "00:16:3e:10:20:03", "198.51.100.23"),
    ("guest-phone", "da:a1:19:5e:00:42", "198.51.100.42"),
    ("router", "00:1a:11:00:00:fe", "198.51.100.1"),
]


def main():
    reason = lab_unavailable_reason()
    if reason:
        sys.exit(f"make demo builds a throwaway network-namespace LAN: {reason}. Run it as root "
                 "(sudo make demo); to watch your own LAN instead, copy the example config to "
                 "presence/people_config.yaml, edit it, and run `.venv/bin/python presence_to_graphite.py once --dry-run`.")
    with Lan() as lan, tempfile.TemporaryDirectory() as tmp:
        for name, mac, ip in DEVICES:
            lan.add_device(name, mac, ip)
        print(f"Demo LAN 198.51.100.0/24 in namespaces: {', '.join(d[0] for d in DEVICES)} "
              "(Archie, Mo and Tom are out).", file=sys.stderr, flush=True)
        argv = [sys.executable, "presence_to_graphite.py", "--config", EXAMPLE,
                "--state", os.path.join(tmp, "state.json"), "once", "--dry-run"]
        return lan.run(lan.scanner_ns, argv, cwd=ROOT, capture_output=False).returncode


if __name__ == "__main__":
    sys.exit(main())
