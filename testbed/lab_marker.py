"""Keeps the `lab` marker true: a test that reaches a real part without it fails and says so.

tests/conftest.py sets `unmarked_test` around each test that is not marked `lab`; every gate of a real part
(`testbed.carbon.require`, `testbed.lab.require_lab`) calls `check()` first. Outside pytest it is None.
"""

unmarked_test = None


def check():
    """Fail the running test when it is not marked `lab`: `pytest -m "not lab"` must not reach the lab."""
    if unmarked_test:
        import pytest

        pytest.fail(f"{unmarked_test} needs root, the namespace lab or a real server: mark it @pytest.mark.lab "
                    "(tests that use the `lan` or `nft_lan` fixture are marked already)", pytrace=False)
