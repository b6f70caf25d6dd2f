"""The printing output of `--dry-run`: what would be sent, on stdout."""
