"""Reads expositions with the Prometheus Python client's OpenMetrics parser (the reference implementation).

Usage: python python-client-parse.py < bodies.json
Reads a JSON list of OpenMetrics bodies on stdin; prints a JSON list with, for each, null when the parser accepts
it, else its error message.
"""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

verdicts = []
for body in json.load(sys.stdin):
    try:
        list(text_string_to_metric_families(body))
        verdicts.append(None)
    except Exception as err:  # the parser raises ValueError, and other errors on some malformed input
        verdicts.append(str(err) or type(err).__name__)
json.dump(verdicts, sys.stdout)
