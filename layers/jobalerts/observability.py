"""Logger, Metrics and Tracer, created once and imported everywhere."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "jobalerts"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="JobAlerts", service=SERVICE)
tracer = Tracer(service=SERVICE)
