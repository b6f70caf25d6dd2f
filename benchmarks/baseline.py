"""An older version of one module, imported beside today's, so a benchmark can run both in one run."""

import ast
import contextlib
import importlib
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Where the modules an older commit imports live today: while its module loads, the old names stand for
# today's modules. (presence.config, presence.state and presence.report are packages today: their old
# modules cannot be stood for without hiding the packages, and no baseline imports them.)
MOVED = {
    "presence.defaults": "presence.config.defaults",
    "presence.config_model": "presence.config.model",
    "presence.config_people": "presence.config.people",
    "presence.config_sections": "presence.config.sections",
    "presence.frames": "presence.sources.frames",
    "presence.interfaces": "presence.sources.network_interfaces",
    "presence.neighbours": "presence.sources.neighbours",
    "presence.vendors": "presence.sources.vendors",
    "presence.wifi_scan": "presence.sources.wifi",
    "presence.passive_listen": "presence.sources.listener",
    "presence.homeassistant_api": "presence.sources.homeassistant",
    "presence.state_file": "presence.state.file",
    "presence.state_dir": "presence.state.folder",
    "presence.spool": "presence.outputs.graphite.spool",
    "presence.loop": "presence.daemon.loop",
    "presence.notify": "presence.daemon.notify",
    "presence.check": "presence.commands.check",
    "presence.discover": "presence.commands.discover",
    "presence.stats": "presence.commands.stats",
}


def module_at(commit, path):
    """The module at `path` (e.g. presence/sources/wifi.py) as it was at `commit`, imported under its own name."""
    source = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout
    name = "baseline_" + Path(path).stem
    with tempfile.TemporaryDirectory() as folder, _old_names(source):
        copy = Path(folder) / f"{name}.py"
        copy.write_text(source)
        spec = importlib.util.spec_from_file_location(name, copy)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _old_names(source):
    """Let the old names that `source` imports find today's modules, until the block ends."""
    standing_in = [old for old in dict.fromkeys(_imported(source)) if old in MOVED and old not in sys.modules]
    try:
        for old in standing_in:
            sys.modules[old] = importlib.import_module(MOVED[old])
        yield
    finally:
        for old in standing_in:
            sys.modules.pop(old, None)


def _imported(source):
    """Every dotted name that `source` imports, or may (`from a import b` may import `a.b`)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
