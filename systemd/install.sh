#!/usr/bin/env bash
# Install (or with --uninstall remove) presence as a systemd service. Safe to run again.
#   sudo systemd/install.sh [--root DIR] [--uninstall]
# --root DIR installs under DIR instead of / and touches no running systemd (for tests and packaging).
set -euo pipefail

ROOT=""
UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="${2%/}"; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

SRC="$(cd "$(dirname "$0")/.." && pwd)"
APP="$ROOT/opt/presence-monitoring"
ETC="$ROOT/etc/presence-monitoring"
UNIT="$ROOT/etc/systemd/system/presence-monitoring.service"
PYTHON="${PYTHON:-/usr/bin/python3}"

systemctl_live() {
    # Only on the real root, and only where systemd runs.
    [ -z "$ROOT" ] && [ -d /run/systemd/system ] && systemctl "$@"
}

if [ "$(id -u)" -ne 0 ] && [ -z "$ROOT" ]; then
    echo "install.sh: run it as root (sudo $0)" >&2
    exit 1
fi

if [ "$UNINSTALL" -eq 1 ]; then
    systemctl_live disable --now presence-monitoring.service || true
    rm -f "$UNIT"
    rm -rf "$APP"
    systemctl_live daemon-reload || true
    echo "Removed the service and $APP."
    echo "Kept your config in $ETC and the state in /var/lib/presence-monitoring; delete them by hand if you want."
    exit 0
fi

command -v "$PYTHON" >/dev/null || { echo "install.sh: $PYTHON not found (apt-get install python3)" >&2; exit 1; }
"$PYTHON" -c "import venv, ensurepip" 2>/dev/null || {
    echo "install.sh: Python's venv is missing: apt-get install python3-venv" >&2; exit 1; }

install -d -m 0755 "$APP"
for item in presence presence_to_graphite.py graphite_helper.py requirements.txt README.md docs graphite systemd; do
    rm -rf "${APP:?}/$item"
    cp -r "$SRC/$item" "$APP/$item"
done
find "$APP" -name '__pycache__' -prune -exec rm -rf {} +
rm -f "$APP/presence/people_config.yaml" "$APP/presence/state.json"
[ -x "$APP/venv/bin/python" ] || "$PYTHON" -m venv "$APP/venv"
"$APP/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$APP/requirements.txt"
chmod -R go-w "$APP"

install -d -m 0755 "$ETC"
if [ -e "$ETC/people_config.yaml" ]; then
    echo "Kept the existing $ETC/people_config.yaml."
else
    install -m 0644 "$SRC/presence/people_config.example.yaml" "$ETC/people_config.yaml"
    echo "Installed the example config as $ETC/people_config.yaml."
fi
# The service loads this file as its ha_token credential; empty means "no token".
[ -e "$ETC/ha_token" ] || install -m 0600 /dev/null "$ETC/ha_token"

install -d -m 0755 "$(dirname "$UNIT")"
install -m 0644 "$SRC/systemd/presence-monitoring.service" "$UNIT"
systemctl_live daemon-reload || true

cat <<NEXT
Installed presence in $APP and the unit presence-monitoring.service.
Next:
  1. Edit $ETC/people_config.yaml (your LAN, your people; the Home Assistant token goes into
     $ETC/ha_token), then check it:
       sudo $APP/venv/bin/python $APP/presence_to_graphite.py --config $ETC/people_config.yaml check
  2. Start it, now and at every boot:
       sudo systemctl enable --now presence-monitoring
NEXT
