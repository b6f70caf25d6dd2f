"""Who was on the LAN when: every device's presence as intervals, and each person's by source (`model`),
kept for weeks in small append-only files beside the state (`journal`), and read back by `suggest`
to tell whose an unmapped device is (`suggest`, pure).
"""
