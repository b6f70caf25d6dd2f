"""`check`'s retention warning against a real graphite-web reading a real carbon-cache's whisper files."""

import os
import time

import pytest

from graphite_helper import GraphiteSender, build_message
from presence.check import check_retention
from presence.config import parse_config
from tests.carbon import Carbon, carbon_unavailable_reason, require
from tests.conftest import make_config
from tests.graphite_web import GraphiteWeb, graphite_web_unavailable_reason

COARSE = """[presence]
pattern = ^home\\\\.presence\\\\.
retentions = 60s:1d
"""


@pytest.fixture(params=["fine", "coarse"])
def graphite(request, tmp_path):
    require(carbon_unavailable_reason() or graphite_web_unavailable_reason())
    carbon = Carbon(tmp_path / "carbon")
    if request.param == "coarse":
        with open(os.path.join(carbon.folder, "storage-schemas.conf"), "w") as handle:
            handle.write(COARSE)
    carbon.start()
    web = GraphiteWeb(tmp_path / "web", carbon.whisper_dir, carbon.cache_port).start()
    sender = GraphiteSender("127.0.0.1", carbon.port)
    now = int(time.time())
    for stamp in range(now - 300, now, 5):
        sender.send(build_message("home.presence", [("count_home", 1)], stamp))
    sender.close()
    carbon.wait_for_points("home.presence.count_home", now - 600, now, 1)
    yield request.param, web.url
    web.stop()
    carbon.stop()


def test_check_tells_the_storage_step(graphite):
    kind, url = graphite
    config = parse_config(make_config(graphite={"render_url": url, "send_interval": 5}))
    verdict, message = check_retention(config)
    if kind == "fine":
        assert verdict is True and "stored at 1 s steps" in message
    else:
        assert verdict == "warn"
        assert message.startswith("Graphite stores home.presence.* at 60 s steps but the daemon sends every 5 s: "
                                  "11 of every 12 points are lost")


def test_check_without_render_url_or_data(tmp_path):
    verdict, _ = check_retention(parse_config(make_config()))
    assert verdict is None
    verdict, message = check_retention(parse_config(make_config(graphite={"render_url": "http://127.0.0.1:9"})))
    assert verdict is False and message.startswith("cannot read http://127.0.0.1:9/render")
