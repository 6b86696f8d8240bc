"""Sending: email through SES v2 (raw MIME), SMS through SNS, and the exactly-once deliver use case."""
