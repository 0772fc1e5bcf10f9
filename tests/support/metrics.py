"""Reading the desk's metrics in tests: a sample's value now, in this process's registry
or in a Prometheus text page (what `GET /metrics` answers)."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families


def sample(name: str, **labels: str) -> float:
    """The value of sample `name` with `labels` in this process (0 when never recorded)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(page: str, name: str, **labels: str) -> float:
    """The value of sample `name` with exactly `labels` in a text page (0 when absent)."""
    for family in text_string_to_metric_families(page):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0
