"""Writes expositions with the Prometheus Python client (the OpenMetrics reference implementation).

Usage: python python-client-expose.py SEED COUNT
Prints a JSON list of COUNT {"openmetrics": text, "prometheus": text} pairs, each from a registry of every metric
type the client has (counter, gauge, histogram and summary with labels, info, enum as stateset, gauge histogram,
exemplars), with random label values (any Unicode, quotes, backslashes, newlines) and values drawn from SEED.
"""
import json
import random
import sys

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary, generate_latest
from prometheus_client.core import GaugeHistogramMetricFamily
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics


def text(rng):
    alphabet = 'ab"\\\n\t é日🙂{}=,#'
    return ''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))


class GaugeHistogramCollector:
    def __init__(self, rng):
        self.rng = rng

    def collect(self):
        family = GaugeHistogramMetricFamily('queue_wait_seconds', 'Waiting items by age', labels=['queue'])
        for queue in ('a', 'b' + text(self.rng)):
            counts = sorted(self.rng.randint(0, 100) for _ in range(3))
            family.add_metric([queue], [('0.1', counts[0]), ('1.0', counts[1]), ('+Inf', counts[2])], gsum_value=self.rng.uniform(0, 500))  # buckets are not negative, so neither is the sum
        yield family


def registry_of(rng):
    registry = CollectorRegistry()
    counter = Counter('requests', 'Requests "served"\\ and\nmore', ['route', 'code'], registry=registry)
    gauge = Gauge('temperature_celsius', 'Temperature', ['room'], unit='celsius', registry=registry)
    histogram = Histogram('latency_seconds', 'Latency', ['route'], buckets=(0.005, 0.1, 1.0, 10.0), registry=registry)
    summary = Summary('payload_bytes', 'Payload sizes', ['route'], registry=registry)
    info = Info('build', 'Build information', registry=registry)
    enum = Enum('state', 'Service state', ['shard'], states=['starting', 'running', 'stopped'], registry=registry)
    registry.register(GaugeHistogramCollector(rng))
    for _ in range(rng.randint(1, 5)):
        route = text(rng)
        counter.labels(route=route, code=rng.choice(['200', '500'])).inc(rng.uniform(0, 1e6), exemplar={'trace_id': text(rng)[:20] or 't'} if rng.random() < 0.5 else None)
        gauge.labels(room=text(rng)).set(rng.choice([rng.uniform(-1e9, 1e9), float('inf'), float('-inf'), float('nan'), 0.0]))
        for _ in range(rng.randint(0, 4)):
            value = rng.expovariate(1.0)
            histogram.labels(route=route).observe(value, exemplar={'trace_id': 'abc'} if rng.random() < 0.3 else None)
            summary.labels(route=route).observe(rng.uniform(0, 1e4))
        enum.labels(shard=text(rng)).state(rng.choice(['starting', 'running', 'stopped']))
    info.info({'version': text(rng) or '1.0', 'commit': text(rng)})
    return registry


def main():
    rng = random.Random(int(sys.argv[1]))
    out = []
    for _ in range(int(sys.argv[2])):
        registry = registry_of(rng)
        out.append({'openmetrics': generate_openmetrics(registry).decode('utf-8'), 'prometheus': generate_latest(registry).decode('utf-8')})
    json.dump(out, sys.stdout)


main()
