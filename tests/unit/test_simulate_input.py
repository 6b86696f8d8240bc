"""`jobalerts simulate` input files: FILE:LINE errors, exit 2, no traceback; and its reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobalerts.models import Post
from jobalerts_local.cli import main
from jobalerts_local.simulate import (
    SearchSpec,
    SubscriberSpec,
    WorkloadError,
    load_posts,
    load_subscribers,
    reference,
    same_job_key,
)
from jobalerts_local.workload import generate

GOOD_SUBSCRIBER = {
    "email": "a@example.com",
    "timezone": "Europe/Berlin",
    "searches": [{"query": "python remote", "channel": "email", "frequency": "daily"}],
}


def post(post_id: str, text: str, **extra: object) -> dict[str, object]:
    return {
        "id": post_id,
        "source": "x",
        "author_handle": "acme_jobs",
        "text": text,
        "url": f"https://x.com/acme_jobs/status/{post_id[2:]}",
        "created_at": "2026-11-20T10:00:00Z",
        **extra,
    }


def lines(path: Path, *rows: object) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("{not json", "2: not JSON"),
        ({**GOOD_SUBSCRIBER, "email": None}, "2: needs an email or a phone"),
        ({**GOOD_SUBSCRIBER, "timezone": "Mars/Olympus"}, "2: timezone 'Mars/Olympus'"),
        (
            {**GOOD_SUBSCRIBER, "searches": [{"query": "python (remote"}]},
            "2: search 1: query 'python (remote': column 8: unbalanced parenthesis",
        ),
        (
            {**GOOD_SUBSCRIBER, "searches": [{"query": "python", "channel": "sms"}]},
            "2: search 1: sms alerts need a phone",
        ),
        (
            {**GOOD_SUBSCRIBER, "searches": [{"query": "python", "frequency": "monthly"}]},
            "2: search 1: frequency must be one of",
        ),
        ({**GOOD_SUBSCRIBER, "searches": []}, "2: searches must be a non-empty list"),
    ],
)
def test_a_bad_subscriber_line_is_named_with_its_reason(
    tmp_path: Path, row: object, reason: str
) -> None:
    # Given a good first line and a bad second one
    path = lines(tmp_path / "s.jsonl", {**GOOD_SUBSCRIBER, "email": "z@example.com"}, row)
    # Then loading names the file, the line and what is wrong
    with pytest.raises(WorkloadError) as raised:
        load_subscribers(path)
    assert str(raised.value).startswith(f"{path}:{reason}")


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (post("x#1", "hi", created_at="yesterday"), "1: created_at: Input should be"),
        ({"id": "x#1"}, "1: source: Field required"),
        (post("mastodon#1", "hi", source="mastodon"), "1: source 'mastodon'"),
        (post("x#abc", "hi"), "1: id 'x#abc'"),
    ],
)
def test_a_bad_post_line_is_named_with_its_reason(tmp_path: Path, row: object, reason: str) -> None:
    path = lines(tmp_path / "p.jsonl", row)
    with pytest.raises(WorkloadError) as raised:
        load_posts(path)
    assert str(raised.value).startswith(f"{path}:{reason}")


def test_a_repeated_post_id_names_both_lines(tmp_path: Path) -> None:
    path = lines(tmp_path / "p.jsonl", post("x#1", "a"), post("x#1", "b"))
    with pytest.raises(WorkloadError, match=r"p.jsonl:2: id 'x#1' already on line 1"):
        load_posts(path)


def test_the_command_exits_2_with_the_error_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a subscribers file whose second line is not JSON
    subscribers = lines(tmp_path / "s.jsonl", GOOD_SUBSCRIBER, "{oops")
    posts = lines(tmp_path / "p.jsonl", post("x#1", "python remote"))
    # When simulate runs on it
    code = main(
        ["simulate", "--subscribers", str(subscribers), "--posts", str(posts),
         "--outbox", str(tmp_path / "out")]
    )  # fmt: skip
    # Then it stops before doing anything, with the usual one-line error
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"{subscribers}:2: not JSON")
    assert "Traceback" not in err


def test_reposts_retweet_copies_and_tracking_variants_are_one_job_but_careers_pages_are_not() -> (
    None
):
    text = "Acme is hiring a senior python developer in Berlin (req 4821). #hiring"
    original = Post.model_validate(post("x#1", f"{text} https://acme.example/careers"))
    tracked = Post.model_validate(
        post("x#2", f"{text} https://acme.example/careers?utm_source=x", author_handle="rec")
    )
    retweet = Post.model_validate(post("x#3", f"RT @acme_jobs: {text}"))
    other_job = Post.model_validate(
        post("x#4", "Acme is hiring a junior golang engineer in Paris (req 77). "
             "#hiring https://acme.example/careers")
    )  # fmt: skip
    assert same_job_key(original) == same_job_key(tracked) == same_job_key(retweet)
    assert same_job_key(other_job) != same_job_key(original)


def test_expected_deliveries_count_a_job_once_per_subscriber_and_channel() -> None:
    # Given two searches of one subscriber that both match a job posted twice
    posts = [
        Post.model_validate(post("x#1", "python developer in Berlin, req 1, apply today")),
        Post.model_validate(
            post("x#2", "python developer in Berlin, req 1, apply today",
                 created_at="2026-11-20T11:00:00Z")
        ),
    ]  # fmt: skip
    person = SubscriberSpec(
        1, "a@example.com", None, "UTC",
        (SearchSpec("python", "email", "daily"), SearchSpec("berlin", "email", "instant")),
    )  # fmt: skip
    # Then one delivery is expected, judged by the earliest post
    expected = reference([person], posts)
    assert expected.expected == {(1, "email", "x#1")}
    assert expected.group_of == {"x#1": "x#1", "x#2": "x#1"}


def test_the_generated_workload_meets_the_issue_minimums_and_is_repeatable() -> None:
    people, posts = generate(seed=7)
    assert len(people) >= 200
    assert sum(len(p["searches"]) for p in people) >= 1000
    assert len(posts) == 2000
    assert generate(seed=7) == (people, posts)
    careers = [p for p in posts if p["links"][0].endswith("/careers")]
    assert len({p["text"] for p in careers}) > len({p["links"][0] for p in careers})
    assert any("utm_source" in p["links"][0] for p in posts)


def test_two_different_jobs_of_a_generated_workload_never_share_a_job_page() -> None:
    # Given the seeded workload `make chaos` runs
    _, posts = generate(seed=7)
    # Then a /jobs/<req> page belongs to one job only (the service files posts by that page, so
    # a page shared by two jobs would make the reference expect a job the service rightly merged)
    jobs: dict[str, set[str]] = {}
    for p in posts:
        link = p["links"][0].split("?", 1)[0]
        if "/jobs/" in link:
            jobs.setdefault(link, set()).add(same_job_key(Post.model_validate(p)))
    assert jobs
    assert {link: keys for link, keys in jobs.items() if len(keys) > 1} == {}


def test_only_the_sends_of_a_failed_window_count_as_ambiguous() -> None:
    # Given an invocation that sent two digests by email and one text, and whose record for
    # sub-a's window failed afterwards
    from jobalerts_local.faults import Accepted
    from jobalerts_local.simulate import _sent_for, _window_of

    def email(subscriber: str) -> Accepted:
        tags = [
            {"Name": "subscriber", "Value": subscriber},
            {"Name": "channel", "Value": "email"},
            {"Name": "window", "Value": "1795136400"},
        ]
        return Accepted("SendEmail", json.dumps({"EmailTags": tags}).encode(), False)

    failed = {
        _window_of(
            json.dumps(
                {"subscriber_id": "sub-a", "channel": "email", "due_at": "2026-11-20T01:00:00Z"}
            )
        )
    }
    # Then sub-a's send may have been resent; sub-b's was recorded and may not
    assert _sent_for(email("sub-a"), failed)
    assert not _sent_for(email("sub-b"), failed)
    # And a text (no tags) counts only when a text window failed
    text = Accepted("Publish", b"Message=x", False)
    assert not _sent_for(text, failed)
    assert _sent_for(text, {("sub-c", "sms", "1795136400")})
