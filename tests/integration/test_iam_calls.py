"""The recorded calls (tests/iam_calls.json, which tests/unit/test_iam.py holds template.yaml to)
still cover what the handlers call: a short run of every function through its handler, recorded
the way `make iam-calls` records the whole suite. A new AWS call in a handler fails here until
it is recorded and granted."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from jobalerts_local.demo import DEMO_SOURCES, demo_subscriptions, subscribe_everyone
from jobalerts_local.runtime import invoke
from jobalerts_local.service import local_service
from tests.conftest import TEST_BASE_URL
from tests.support.events import load_event
from tests.support.iam import functions, load_recorded, recording

FEEDBACK = ("feedback-send-event.json", "feedback-permanent-bounce.json", "feedback-complaint.json")
TEXTS = ("inbound-sms-help.json", "inbound-sms-stop.json", "inbound-sms-start.json")


@pytest.mark.timeout(900)
def test_the_recorded_calls_cover_a_run_of_every_function(clock: datetime) -> None:
    # Given every function run through its handler: sign-ups, ingest, match (two shards, so
    # the fan-out and a shard's queue worker run too), digest, deliver, SES feedback and
    # inbound texts
    parameters = {"EnabledSources": DEMO_SOURCES, "SearchShards": "2"}
    with (
        recording() as calls,
        local_service(TEST_BASE_URL, parameters=parameters) as service,
    ):
        subscribe_everyone(service, demo_subscriptions(clock))
        service.ingest()
        service.match()
        service.digest((clock + timedelta(days=8)).replace(hour=12))
        service.deliver()
        for name in FEEDBACK:
            invoke("feedback", load_event(name))
        for name in TEXTS:
            invoke("inbound_sms", load_event(name))
    # Then each function called nothing the recorded file (and so template.yaml) leaves out
    recorded = load_recorded()
    unrecorded = {fn: grants - recorded.get(fn, set()) for fn, grants in calls.items()}
    assert {fn: grants for fn, grants in unrecorded.items() if grants} == {}
    # And the run did reach every function but the deploy-time custom resource
    assert set(calls) == set(functions()) - {"sms_settings"}
