"""Posts table: key `post_id` (source-prefixed); TTL `expires_at`; stream of new images -> match."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobalerts.errors import Conflict
from jobalerts.models import Post
from jobalerts.settings import get_settings
from jobalerts.store._dynamo import epoch_after, from_item, table_named, to_item, translated

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

POST_KIND = "post"
DUP_KIND = "dup"
DUP_PREFIX = "dup#"


def post_to_item(post: Post, ttl_days: int) -> dict[str, Any]:
    data = post.model_dump(mode="json")
    data["post_id"] = data.pop("id")
    data["kind"] = POST_KIND
    data["expires_at"] = epoch_after(ttl_days, post.created_at)
    return to_item(data)


def item_to_post(item: dict[str, Any]) -> Post:
    data = from_item(item)
    data["id"] = data.pop("post_id")
    return Post.model_validate(data)


class PostsRepository:
    def __init__(self, table: Table | None = None, ttl_days: int | None = None) -> None:
        settings = get_settings()
        self.table = table or table_named(settings.posts_table)
        self.ttl_days = ttl_days or settings.post_ttl_days

    def put_new(self, post: Post) -> bool:
        """Store a post once; False when it was already there (a re-read page, a retried run)."""
        try:
            with translated("post"):
                self.table.put_item(
                    Item=post_to_item(post, self.ttl_days),
                    ConditionExpression="attribute_not_exists(post_id)",
                )
        except Conflict:
            return False
        return True

    def get(self, post_id: str) -> Post | None:
        with translated("post"):
            page = self.table.get_item(Key={"post_id": post_id})
        item = page.get("Item")
        return item_to_post(dict(item)) if item else None

    def put_unless_near_duplicate(self, post: Post, fingerprint: str | None) -> str:
        """Store a post unless it was stored already or is a near-duplicate of a stored one.

        Returns "stored", "duplicate" (this very post, re-read) or "near_duplicate" (another
        post with the same fingerprint: its author is added to that post's also_posted_by).
        A `dup#<fingerprint>` item (kind "dup", same TTL) remembers the first post; the match
        stream only sees kind "post" inserts, so neither it nor the update reaches matching.
        """
        if fingerprint is None:
            return "stored" if self.put_new(post) else "duplicate"
        key = f"{DUP_PREFIX}{fingerprint}"
        try:
            with translated("post fingerprint"):
                self.table.put_item(
                    Item={
                        "post_id": key,
                        "kind": DUP_KIND,
                        "original": post.id,
                        "expires_at": epoch_after(self.ttl_days, post.created_at),
                    },
                    ConditionExpression="attribute_not_exists(post_id)",
                )
        except Conflict:
            with translated("post fingerprint"):
                item = self.table.get_item(Key={"post_id": key}, ConsistentRead=True).get("Item")
            original = str((item or {}).get("original", ""))
            if original and original != post.id:
                self._also_posted_by(original, post.author_handle)
                return "near_duplicate"
        # First sighting, or a retry after a crash between the two writes.
        return "stored" if self.put_new(post) else "duplicate"

    def _also_posted_by(self, post_id: str, handle: str) -> None:
        if not post_id:
            return
        try:
            with translated("post"):
                self.table.update_item(
                    Key={"post_id": post_id},
                    UpdateExpression="SET also_posted_by = list_append("
                    "if_not_exists(also_posted_by, :empty), :handle)",
                    ConditionExpression="attribute_exists(post_id) "
                    "AND author_handle <> :author AND NOT contains(also_posted_by, :author)",
                    ExpressionAttributeValues={
                        ":empty": [],
                        ":handle": [handle],
                        ":author": handle,
                    },
                )
        except Conflict:
            pass  # the same author again, already noted, or the original has expired
