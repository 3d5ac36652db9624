"""Prometheus metrics of one gateway, in a registry of its own (two servers in one process do
not share counters).

Recorded by the gateway as requests happen: requests and latency per exposed tool and per
downstream, search results returned, catalog syncs. Read from the backend at scrape time:
each downstream's state and reconnect count, and the search processes' (how many run, restarts,
searches the server answered itself while none could). Serving ``/metrics`` is
`toolnav.server.http`'s job.

Example:
    metrics = GatewayMetrics(backend)
    metrics.requests.labels(tool="search_tools", outcome="ok").inc()
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from toolnav.server.backend import DOWNSTREAM_STATES, GatewayBackend, SearchState

__all__ = ["GatewayMetrics"]

# Seconds: searches take milliseconds, downstream calls up to the call timeout.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0, 60.0)


class GatewayMetrics:
    """The gateway's counters and histograms (see the module docstring)."""

    def __init__(self, backend: GatewayBackend) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "toolnav_requests", "Tool calls received, per exposed tool and outcome "
            "(ok, tool_error, invalid_arguments, insufficient_scope, not_found, internal_error)",
            ["tool", "outcome"], registry=self.registry)
        self.request_seconds = Histogram(
            "toolnav_request_seconds", "Time to answer a tool call, per exposed tool",
            ["tool"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.downstream_calls = Counter(
            "toolnav_downstream_calls", "Calls forwarded to a downstream, per namespace and "
            "outcome (ok, tool_error)", ["downstream", "outcome"], registry=self.registry)
        self.downstream_seconds = Histogram(
            "toolnav_downstream_call_seconds", "Time a downstream took to answer a call",
            ["downstream"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.search_results = Counter(
            "toolnav_search_results", "Tools returned by search_tools, summed over searches",
            registry=self.registry)
        self.syncs = Counter(
            "toolnav_catalog_syncs", "Re-listings of a downstream server, per result "
            "(changed, unchanged, failed)", ["downstream", "result"], registry=self.registry)
        self.registry.register(_BackendCollector(backend))

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)


class _BackendCollector(Collector):
    """Each downstream's state (one gauge per possible state, 1 for the current one) and its
    reconnect count, and the search processes' state, as the backend reports them at scrape
    time."""

    def __init__(self, backend: GatewayBackend) -> None:
        self._backend = backend

    def collect(self) -> Iterator[Metric]:
        states = GaugeMetricFamily("toolnav_downstream_state", "1 for the downstream's "
                                   "current state, 0 for the others",
                                   labels=["downstream", "state"])
        reconnects = CounterMetricFamily("toolnav_downstream_reconnects",
                                         "Sessions re-established after a failure",
                                         labels=["downstream"])
        tools = GaugeMetricFamily("toolnav_downstream_tools", "Tools the catalog holds for "
                                  "the downstream", labels=["downstream"])
        for downstream in self._backend.states():
            for state in DOWNSTREAM_STATES:
                states.add_metric([downstream.name, state], float(downstream.state == state))
            reconnects.add_metric([downstream.name], downstream.reconnects)
            tools.add_metric([downstream.name], downstream.tools)
        yield states
        yield reconnects
        yield tools
        yield from _search_metrics(self._backend.search_state())

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _search_metrics(search: SearchState) -> Iterator[Metric]:
    yield GaugeMetricFamily("toolnav_search_processes", "Search processes configured (0: "
                            "searches run on the server's worker threads)",
                            value=search.processes)
    yield GaugeMetricFamily("toolnav_search_processes_running", "Search processes answering "
                            "now (the others are restarting)", value=search.running)
    yield CounterMetricFamily("toolnav_search_process_restarts", "Search processes started "
                              "again after one died", value=search.restarts)
    yield CounterMetricFamily("toolnav_search_fallbacks", "Searches the server process "
                              "answered itself because no search process could",
                              value=search.fallbacks)
