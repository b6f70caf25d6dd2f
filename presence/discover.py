"""`discover`: list the devices on the LAN that no person claims, to help map MACs to people."""

import json

from presence.macs import is_randomized
from presence.wifi_scan import WifiSource


def vendor_of(mac):
    """Return the vendor registered for the MAC's prefix (scapy's bundled OUI table), or None."""
    if is_randomized(mac):
        return None
    from scapy.config import conf

    try:
        vendor = conf.manufdb._get_manuf(mac)
    except Exception:  # the table is optional data; a lookup failure is just "unknown"
        return None
    return None if not vendor or vendor.lower() == mac else vendor


def unmapped_devices(config, found):
    """Turn a scan result {mac: ip} into rows for the devices nobody claims."""
    rows = []
    for mac, ip in sorted(found.items(), key=lambda item: tuple(int(p) for p in item[1].split("."))):
        if mac in config.mac_owner or mac in config.ignore_macs:
            continue
        rows.append({"mac": mac, "ip": ip, "vendor": vendor_of(mac), "randomized": is_randomized(mac)})
    return rows


def run_discover(config, as_json, out):
    """Sweep once and print the unmapped devices; return the exit status."""
    source = WifiSource(config.network)
    try:
        found, _how = source.scan()
    finally:
        source.close()
    rows = unmapped_devices(config, found)
    if as_json:
        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        out.write(f"No unmapped devices answered ({len(found)} device(s) seen, all mapped or ignored).\n")
        return 0
    out.write(f"{'MAC':<18} {'IP':<16} {'RANDOMIZED':<11} VENDOR\n")
    for row in rows:
        out.write(f"{row['mac']:<18} {row['ip']:<16} {'yes' if row['randomized'] else 'no':<11} "
                  f"{row['vendor'] or '-'}\n")
    out.write(f"\n{len(rows)} unmapped device(s). Add a MAC to a person's 'macs' in the config, "
              "or to 'ignore_macs'.\n")
    return 0
