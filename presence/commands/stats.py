"""`stats`: each mapped device's silences while its person was home, to choose a grace period from data."""

import json

from presence import exits
from presence.safe_text import safe


def percentile(values, fraction):
    """The nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def gap_rows(config, state):
    """One row per mapped MAC: its silence percentiles and its person's grace."""
    rows = []
    for person in config.people:
        for mac in person.macs:
            gaps = state.gaps.get(mac, ())
            row = {"person": person.key, "mac": mac, "samples": len(gaps), "grace": person.offline_grace}
            if gaps:
                row.update(p50=percentile(gaps, 0.50), p95=percentile(gaps, 0.95),
                           p99=percentile(gaps, 0.99), max=max(gaps))
            rows.append(row)
    return rows


def run_stats(config, state, out, as_json=False):
    """Print the silence gaps per device; return the exit status."""
    rows = gap_rows(config, state)
    if as_json:
        out.write(json.dumps(rows, indent=2) + "\n")
        return exits.EX_OK
    out.write("Silences (s) between fresh sightings of each device while its person was home.\n")
    out.write(f"{'PERSON':<12} {'MAC':<18} {'SAMPLES':>7} {'P50':>6} {'P95':>6} {'P99':>6} {'MAX':>6} {'GRACE':>6}\n")
    for row in rows:
        figures = [f"{row[key]:>6.0f}" if key in row else f"{'-':>6}" for key in ("p50", "p95", "p99", "max")]
        flag = "  <- a silence outlasted the grace" if row.get("max", 0) >= row["grace"] else ""
        out.write(f"{safe(row['person']):<12} {safe(row['mac']):<18} {row['samples']:>7} {' '.join(figures)} "
                  f"{row['grace']:>6.0f}{flag}\n")
    out.write("A grace period comfortably above a device's p99 keeps a dozing phone home; the max shows "
              "the worst silence seen.\n")
    return exits.EX_OK
