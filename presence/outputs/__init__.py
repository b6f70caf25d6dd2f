"""Where each decision goes: one folder per output (`graphite`, `mqtt`, `history`, `printing` for a dry run),
each behind the one `Output` interface of `base`."""
