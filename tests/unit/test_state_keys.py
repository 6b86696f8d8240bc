"""The StateTable key registry: no two kinds of record can share a key, and only
`jobalerts.store.keys` spells one out."""

from __future__ import annotations

import ast
import itertools
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobalerts.models import Channel
from jobalerts.store import keys

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "jobalerts"
REGISTRY = LAYER / "store" / "keys.py"

ids = st.text(min_size=1, max_size=40)
windows = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 1, 1))
channels = st.sampled_from(list(Channel))

# One strategy per key function: the shape it must land in, and keys it builds.
BUILDERS = {
    keys.CHECKPOINT: ids.map(keys.checkpoint),
    keys.SOURCE_PAUSE: ids.map(keys.source_pause),
    keys.READ_BUDGET: st.builds(keys.read_budget, ids, ids),
    keys.QUERY_PLAN: ids.map(keys.query_plan),
    keys.NEAR_DUPLICATE: ids.map(keys.near_duplicate),
    keys.INBOUND_SMS: ids.map(keys.inbound_sms),
    keys.SIGNUP: ids.map(keys.signup),
    keys.RATE_COUNTER: st.builds(keys.rate_counter, ids, ids, st.integers()),
    keys.DELIVERY: st.one_of(
        st.builds(keys.delivery_window, ids, channels, windows),
        st.builds(keys.delivery_lock, ids, channels),
        st.builds(keys.sms_counter, ids, days),
    ),
    keys.SUPPRESSED_EMAIL: ids.map(keys.suppressed_email),
    keys.ARCHIVED_DIGEST: st.builds(keys.archived_digest, ids, ids),
    keys.DIGEST_LINK: ids.map(keys.digest_link),
    keys.RECENT_POSTS: st.builds(keys.recent_posts_chunk, days.map(date.isoformat), ids),
}


def test_every_shape_has_a_key_function_under_test() -> None:
    assert set(BUILDERS) == set(keys.SHAPES)


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(keys.SHAPES, 2)), ids=str)
def test_no_two_shapes_own_a_common_partition_key(a: keys.Shape, b: keys.Shape) -> None:
    # A fixed key must not be the other's key or start with its prefix; two prefixes must not
    # nest: otherwise some id would make one kind's item land in the other's partition.
    assert not a.owns(b.pk)
    assert not b.owns(a.pk)


@pytest.mark.parametrize("shape", keys.SHAPES, ids=lambda s: s.name)
@given(data=st.data())
def test_a_key_function_builds_keys_its_own_shape_owns(
    shape: keys.Shape, data: st.DataObject
) -> None:
    key = data.draw(BUILDERS[shape])
    assert set(key) == keys.KEY_ATTRIBUTES
    assert keys.shape_of(key["pk"]) is shape


@given(subscriber=ids, channel=channels, window=windows, day=days)
def test_the_delivery_partitions_sort_keys_never_collide(
    subscriber: str, channel: Channel, window: datetime, day: date
) -> None:
    # One delivery partition holds a subscriber's windows, channel locks and text counters
    built = [
        keys.delivery_window(subscriber, channel, window),
        keys.delivery_lock(subscriber, channel),
        keys.sms_counter(subscriber, day),
    ]
    assert len({k["sk"] for k in built}) == 3


def test_the_stored_key_formats_do_not_change() -> None:
    # Items already in the table were written with these keys: a new format orphans them
    window = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert keys.checkpoint("x") == {"pk": "checkpoint", "sk": "x"}
    assert keys.source_pause("x") == {"pk": "pause", "sk": "x"}
    assert keys.read_budget("x", "2026-11") == {"pk": "budget", "sk": "x#2026-11"}
    assert keys.query_plan("x") == {"pk": "plan", "sk": "x"}
    assert keys.near_duplicate("f") == {"pk": "dup", "sk": "f"}
    assert keys.inbound_sms("m") == {"pk": "inbound-sms", "sk": "m"}
    assert keys.signup("s") == {"pk": "signup", "sk": "s"}
    assert keys.rate_counter("client", "ab", 7) == {"pk": "ratelimit#client", "sk": "ab#7"}
    assert keys.delivery_lock("ana", Channel.EMAIL) == {"pk": "delivery#ana", "sk": "email#lock"}
    assert keys.delivery_window("ana", Channel.SMS, window)["sk"].startswith("sms#w#2026-11-23")
    assert keys.sms_counter("ana", date(2026, 11, 23)) == {
        "pk": "delivery#ana",
        "sk": "sms#count#2026-11-23",
    }
    assert keys.suppressed_email("d") == {"pk": "suppressed#email", "sk": "d"}
    assert keys.archived_digest("ana", "d1") == {"pk": "digest#ana", "sk": "d1"}
    assert keys.digest_link("d1") == {"pk": "digest-link", "sk": "d1"}
    assert keys.recent_posts_chunk("2026-11-23", "t#h") == {"pk": "recent#2026-11-23", "sk": "t#h"}


def test_a_fixed_shape_refuses_a_partition_suffix() -> None:
    with pytest.raises(ValueError, match="fixed"):
        keys.CHECKPOINT.key("x", "#more")


def test_a_partition_key_nobody_owns_is_refused() -> None:
    with pytest.raises(ValueError, match="0 shapes"):
        keys.shape_of("nobody")


def _strings(tree: ast.AST) -> list[str]:
    """Every string literal, and the literal start of every f-string."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append(node.value)
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                found.append(head.value)
    return found


def test_no_state_table_key_is_built_outside_the_registry() -> None:
    # Distinctive partition keys (a prefix, or one no other word would be) and the key
    # attribute itself: a module holding one builds a StateTable key by hand.
    distinctive = [s.pk for s in keys.SHAPES if s.prefix or "#" in s.pk or "-" in s.pk]
    offenders = set()
    for path in sorted(LAYER.rglob("*.py")):
        if path == REGISTRY:
            continue
        for text in _strings(ast.parse(path.read_text(encoding="utf-8"))):
            if text == keys.PARTITION or any(text.startswith(pk) for pk in distinctive):
                offenders.add(f"{path.relative_to(ROOT)}: {text[:40]!r}")
    assert offenders == set()
