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

SRC="$(cd "$(dirname "$0")/.." && pwd -P)"
APP="$ROOT/opt/presence-monitoring"
ETC="$ROOT/etc/presence-monitoring"
UNIT="$ROOT/etc/systemd/system/presence-monitoring.service"
PYTHON="${PYTHON:-/usr/bin/python3}"
ITEMS=(presence presence_to_graphite.py graphite_helper.py requirements.txt README.md docs graphite systemd)
# What a developer's runs leave in a tree that is not a git checkout (a tarball); none of it is the project.
LEFT_BY_RUNS=(.git .venv __pycache__ '*.pyc' graphite-spool device-history state.json 'state.json.*' '*.corrupt-*'
              presence/people_config.yaml)
# The service's dynamic user must be able to read the code, whatever root's umask is.
umask 022

# The installer itself comes from $SRC, so trusting that checkout's git config adds no risk under sudo.
git_src() { git -c safe.directory='*' -C "$SRC" "$@"; }

is_checkout() {
    command -v git >/dev/null && [ "$(git_src rev-parse --show-toplevel 2>/dev/null)" = "$SRC" ]
}

tracked_files() {
    # A tracked file deleted in the working tree is left out, as the working tree says.
    git_src ls-files -z -- "${ITEMS[@]}" | while IFS= read -r -d '' file; do
        if [ -e "$SRC/$file" ]; then printf '%s\0' "$file"; fi
    done
}

say_untracked() {
    local untracked more
    mapfile -t untracked < <(git_src ls-files --others --exclude-standard -- "${ITEMS[@]}")
    [ "${#untracked[@]}" -eq 0 ] && return
    more=$(( ${#untracked[@]} - 3 ))
    echo "Left out what git does not track in $SRC: ${untracked[*]:0:3}$([ "$more" -le 0 ] || echo " and $more more")"
}

copy_items() {
    # Stale files from an older install must not survive: every item is replaced whole.
    for item in "${ITEMS[@]}"; do rm -rf "${APP:?}/$item"; done
    if is_checkout; then
        tracked_files | tar -C "$SRC" --null --files-from=- -cf - | untar
        say_untracked
    else
        tar -C "$SRC" "${LEFT_BY_RUNS[@]/#/--exclude=}" -cf - "${ITEMS[@]}" | untar
    fi
}

untar() {
    # Owned by root and not writable by others, whoever owns the source tree.
    tar -C "$APP" --no-same-owner --no-same-permissions -xf -
}

own_by_root() {
    # Without root (only with --root, for packaging) ownership is the packager's to set.
    if [ "$(id -u)" -eq 0 ]; then chown root:root "$@"; fi
}

secure_token() {
    # The service loads this file as a credential (ha_token, mqtt_password, graphite_tls_key); empty means "none".
    local token="$ETC/$1" before after
    if [ ! -e "$token" ] && [ ! -L "$token" ]; then
        install -m 0600 /dev/null "$token"
    elif [ -L "$token" ] || [ ! -f "$token" ]; then
        echo "install.sh: $token is not a regular file; left it as it is (it must be mode 0600, owner root)" >&2
    else
        before="$(stat -c 'mode %a, owner %U:%G' "$token")"
        chmod 0600 "$token"
        own_by_root "$token"
        after="$(stat -c 'mode %a, owner %U:%G' "$token")"
        [ "$after" = "$before" ] || echo "Set $token to $after (it was $before)."
    fi
}

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
copy_items
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
secure_token ha_token
secure_token mqtt_password
secure_token graphite_tls_key

install -d -m 0755 "$(dirname "$UNIT")"
install -m 0644 "$SRC/systemd/presence-monitoring.service" "$UNIT"
systemctl_live daemon-reload || true

cat <<NEXT
Installed presence in $APP and the unit presence-monitoring.service.
Next:
  1. Edit $ETC/people_config.yaml (your LAN, your people; the Home Assistant token goes into
     $ETC/ha_token, the MQTT broker's password into $ETC/mqtt_password, a study's TLS key for this home
     into $ETC/graphite_tls_key), then check it:
       sudo $APP/venv/bin/python $APP/presence_to_graphite.py --config $ETC/people_config.yaml check
  2. Start it, now and at every boot:
       sudo systemctl enable --now presence-monitoring
NEXT
