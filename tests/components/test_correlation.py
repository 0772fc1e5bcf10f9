"""components/correlation.py: the Rasa process's log lines name the fan message's id.

The checks run in Rasa's own environment (.venv-rasa, Python 3.10), where the module
runs; the gateway channel binding it for each message is exercised end to end
(tests/e2e/test_observability.py).
"""

from __future__ import annotations

import re
import subprocess

from bot.rasa.environment import RASA_PYTHON
from core.settings import ROOT

SCRIPT = """
import io, logging
from components import correlation

out = io.StringIO()
handler = logging.StreamHandler(out)
handler.setFormatter(logging.Formatter("%(levelname)s %(message)s", "%H:%M"))
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
correlation.install()
correlation.install()
log = logging.getLogger("rasa.core.processor")
log.info("outside any message")
with correlation.bind(correlation.sane("msg-7.a_b")):
    log.info("predicted the next action")
with correlation.bind(correlation.sane("not sane!")):
    log.info("a message without a usable id")
assert correlation.current() is None
filters = [f for f in handler.filters if isinstance(f, correlation.CorrelationFilter)]
print(len(filters))
print(out.getvalue(), end="")
"""


def test_rasas_lines_show_the_bound_id_or_a_dash() -> None:
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    filters, *lines = done.stdout.splitlines()
    assert filters == "1"
    assert len(lines) == 3
    # The desk's own format: time with milliseconds, so the three logs sort together.
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    outside = r" INFO     \[-\] rasa.core.processor - outside any message"
    assert re.fullmatch(stamp + outside, lines[0]), lines[0]
    assert "[msg-7.a_b] rasa.core.processor - predicted the next action" in lines[1]
    assert "[-] rasa.core.processor - a message without a usable id" in lines[2]
