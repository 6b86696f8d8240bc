"""Reading template.yaml: CloudFormation tags and intrinsic functions resolve as AWS would."""

from __future__ import annotations

from typing import Any

from jobalerts_local.simulate import UNBOUNDED_RETRIES, stream_retries
from jobalerts_local.template import LocalStack, load_template


def test_the_template_declares_every_function_with_a_handler_folder() -> None:
    # Given the real template
    template = load_template()
    # Then each function's CodeUri is a folder holding app.py
    from jobalerts_local.template import repo_root

    functions = {
        lid: r["Properties"]["CodeUri"]
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert set(functions) >= {
        "IngestFunction",
        "MatchFunction",
        "DigestFunction",
        "DeliverFunction",
        "SubscriptionsFunction",
        "FeedbackFunction",
    }
    for code_uri in functions.values():
        assert (repo_root() / code_uri / "app.py").is_file()


def test_short_form_tags_become_intrinsic_functions() -> None:
    template = load_template()
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["SUBSCRIBERS_TABLE"] == {"Ref": "SubscribersTable"}
    match = template["Resources"]["MatchFunction"]["Properties"]["Events"]["NewPosts"]
    assert match["Properties"]["Stream"] == {"Fn::GetAtt": ["PostsTable", "StreamArn"]}


def test_intrinsics_resolve_against_what_was_created() -> None:
    # Given a stack that knows one table and one parameter
    stack = LocalStack(
        template={"Conditions": {"HasUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Url"}, ""]}]}}},
        parameters={"Url": ""},
        refs={"Api": "abc"},
        attrs={("Table", "Arn"): "arn:aws:dynamodb:us-east-1:123456789012:table/T"},
    )
    # When Sub, GetAtt, If and Join are resolved
    assert stack.resolve({"Fn::Sub": "${Table.Arn}/index/*"}).endswith("table/T/index/*")
    assert stack.resolve({"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.x"}) == (
        "https://abc.execute-api.us-east-1.x"
    )
    assert stack.resolve({"Fn::If": ["HasUrl", "custom", "default"]}) == "default"
    assert stack.resolve({"Fn::Join": ["-", ["a", {"Ref": "Api"}]]}) == "a-abc"


def test_search_shards_decide_which_shards_exist() -> None:
    # Given the real template under each allowed SearchShards
    template = load_template()
    resources = template["Resources"]
    assert template["Parameters"]["SearchShards"]["AllowedValues"] == [1, 2, 3, 4]
    for shards in ("1", "2", "3", "4"):
        stack = LocalStack(template=template, parameters={"SearchShards": shards})
        # Then shards 1..N-1 get a queue, dead letters, policy, subscription and worker each
        for k in ("1", "2", "3"):
            parts = [f"MatchShard{k}{part}" for part in _SHARD_PARTS]
            assert {stack.declared(resources[p]) for p in parts} == {int(k) < int(shards)}
        # And the fan-out exists whenever there is more than shard 0
        fanout = {stack.declared(resources[p]) for p in ("PostsFanoutTopic", "PostsFanoutFunction")}
        assert fanout == {shards != "1"}


_SHARD_PARTS = ("Queue", "DeadLetterQueue", "QueuePolicy", "Subscription", "Function")


def test_the_shard_copies_differ_only_in_their_shard() -> None:
    # Given the three declared copies of each shard resource, with the shard number blanked out
    resources = load_template()["Resources"]
    for part in _SHARD_PARTS:
        copies = [
            repr(resources[f"MatchShard{k}{part}"]).replace(f"MatchShard{k}", "MatchShardK")
            for k in ("1", "2", "3")
        ]
        normalized = [
            c.replace(f"'HasShard{k}'", "'HasShardK'")
            .replace(f"'{k}'", "'K'")
            .replace(f"shard {k}'", "shard K'")
            for c, k in zip(copies, ("1", "2", "3"), strict=True)
        ]
        # Then they are the same resource, so no shard drifts from the others
        assert len(set(normalized)) == 1, part


def test_new_posts_are_retried_until_matched_and_only_a_poison_record_leaves() -> None:
    # Given the match function's stream mapping
    new_posts = load_template()["Resources"]["MatchFunction"]["Properties"]["Events"]["NewPosts"]
    mapping = new_posts["Properties"]
    # Then a failing batch is retried until it goes through (split to find the failing record),
    # and only a record failing for six hours goes to the failure queue
    assert mapping["MaximumRetryAttempts"] == -1
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRecordAgeInSeconds"] == 6 * 3600
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]
    }
    # And the fan-out to the other shards reads the stream with the same retries
    fanout = load_template()["Resources"]["PostsFanoutFunction"]["Properties"]["Events"]
    assert fanout["NewPosts"]["Properties"] == mapping
    # And the simulator retries as the template says (without end, up to its sanity cap)
    assert stream_retries() == UNBOUNDED_RETRIES


def p95_of_two_waits(a: float, b: float) -> float:
    """The 95th percentile of U(0, a) + U(0, b), a >= b: waits for two schedules of unrelated
    phase. P(sum > t) is (a - t + b / 2) / a for b <= t <= a, (a + b - t)^2 / (2ab) above."""
    assert a >= b
    t = a + b / 2 - 0.05 * a
    return t if t <= a else a + b - (0.1 * a * b) ** 0.5


def test_the_schedules_keep_an_instant_alert_under_six_minutes_at_p95() -> None:
    # Given the template's schedules and batching windows on the way from a post to SES
    resources = load_template()["Resources"]

    def every(function: str) -> int:
        [event] = resources[function]["Properties"]["Events"].values()
        amount, unit = event["Properties"]["ScheduleExpression"][len("rate(") : -1].split()
        return int(amount) * {"minute": 60, "minutes": 60}[unit]

    def batching(function: str, event: str) -> int:
        properties = resources[function]["Properties"]["Events"][event]["Properties"]
        return int(properties["MaximumBatchingWindowInSeconds"])

    # When a post waits for the next ingest run, then its match for the next digest run
    waits = p95_of_two_waits(every("IngestFunction"), every("DigestFunction"))
    batches = batching("MatchFunction", "NewPosts") + batching("DeliverFunction", "Deliveries")
    # Then the schedules leave half a minute of the six for the functions' own work
    assert (every("IngestFunction"), every("DigestFunction")) == (300, 60)
    assert round(waits) == 318
    assert waits + batches <= 6 * 60 - 30
    # (a five-minute digest made it 600 - sqrt(0.1 * 300^2) = 505 s, 8.4 minutes, at p95)


def _dead_letter_queues(resources: dict[str, Any]) -> set[str]:
    """Every queue something gives up into: redrive targets, Lambda DLQs, on-failure targets."""
    found: set[str] = set()

    def target(value: Any) -> None:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])

    for resource in resources.values():
        props = resource.get("Properties", {})
        target(props.get("RedrivePolicy", {}).get("deadLetterTargetArn"))
        target(props.get("DeadLetterQueue", {}).get("TargetArn"))
        for event in props.get("Events", {}).values():
            event_props = event.get("Properties", {})
            target(event_props.get("DeadLetterConfig", {}).get("Arn"))
            target(event_props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"))
    return found


def test_every_queue_that_holds_what_was_given_up_on_pages_someone() -> None:
    # Given the template's resources
    resources = load_template()["Resources"]
    alarms = {n: r for n, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {
        str(dimension["Value"]["Fn::GetAtt"][0])
        for alarm in alarms.values()
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        for dimension in alarm["Properties"]["Dimensions"]
    }
    # Then every dead-letter or failure queue has an alarm, which exists whenever the queue does
    dead_letters = _dead_letter_queues(resources)
    assert dead_letters >= {"DeliveryDeadLetterQueue", "FailedInvocationsQueue"}
    assert dead_letters <= watched
    for name, alarm in alarms.items():
        for dimension in alarm["Properties"]["Dimensions"]:
            value = dimension["Value"]
            watched_resource = value["Fn::GetAtt"][0] if "Fn::GetAtt" in value else None
            if watched_resource is not None:
                assert alarm.get("Condition") == resources[watched_resource].get("Condition"), name
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    # And every function reading the posts stream has its iterator age watched
    readers = {
        name
        for name, resource in resources.items()
        for event in resource.get("Properties", {}).get("Events", {}).values()
        if event.get("Type") == "DynamoDB"
    }
    aged = {
        dimension["Value"]["Ref"]
        for alarm in alarms.values()
        if alarm["Properties"]["MetricName"] == "IteratorAge"
        for dimension in alarm["Properties"]["Dimensions"]
    }
    assert readers == aged == {"MatchFunction", "PostsFanoutFunction"}


def test_every_limit_the_template_sets_defaults_to_the_settings_own() -> None:
    # Given the subscriptions function's variables that the template takes from parameters
    from jobalerts.settings import SubscriptionsSettings

    template = load_template()
    env = template["Resources"]["SubscriptionsFunction"]["Properties"]["Environment"]["Variables"]
    fields = SubscriptionsSettings.model_fields
    from_parameters = {
        name.lower(): template["Parameters"][value["Ref"]]
        for name, value in env.items()
        if isinstance(value, dict) and value.get("Ref") in template["Parameters"]
    }
    # Then the sign-up and preview limits are among them (an operator tunes them per stack)
    assert {
        "preview_window_seconds",
        "preview_limit_per_client",
        "preview_limit_overall",
        "signup_limit_per_client",
    } <= set(from_parameters)
    # And each parameter's default and minimum are the setting's, so a deploy with no
    # overrides behaves as the tests and the demo do
    for name, parameter in from_parameters.items():
        if name not in fields or parameter["Type"] != "Number":
            continue
        field = fields[name]
        assert parameter["Default"] == field.default, name
        floors = [m.ge for m in field.metadata if hasattr(m, "ge")]
        assert [parameter.get("MinValue")] == floors, name
