"""An older version of one module, imported beside today's, so a benchmark can run both in one run."""

import importlib.util
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_at(commit, path):
    """The module at `path` (e.g. presence/sources/wifi.py) as it was at `commit`, imported under its own name."""
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    name = "baseline_" + Path(path).stem
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / f"{name}.py"
        copy.write_text(source)
        spec = importlib.util.spec_from_file_location(name, copy)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module
