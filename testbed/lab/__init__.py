"""Network-namespace test LAN (see lan.py) and the pytest gate for it."""

import os

from .lan import Device, LabError, Lan, lab_unavailable_reason

__all__ = ["Device", "LabError", "Lan", "lab_unavailable_reason", "require_lab"]


def require_lab(nft: bool = False) -> None:
    """Skip the calling test when no lab can be built here; on CI (CI set) fail instead.

    nft=True: the test also needs nftables (Device.doze/go_silent/wake). Only for tests marked `lab`.
    """
    from testbed import lab_marker  # here, so that the package also imports on its own as `lab`

    lab_marker.check()
    reason = lab_unavailable_reason(nft=nft)
    if reason is None:
        return
    import pytest  # only needed under pytest; Lan itself works without it

    if os.environ.get("CI"):
        pytest.fail(f"CI must run the namespace lab: {reason}", pytrace=False)
    pytest.skip(reason)
