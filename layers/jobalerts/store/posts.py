"""Posts table: key `post_id` (source-prefixed); TTL `expires_at`; stream of new images -> match."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobalerts.errors import Conflict
from jobalerts.models import Post
from jobalerts.store._dynamo import (
    batch_get,
    epoch_after,
    from_item,
    is_expired,
    to_item,
    translated,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

POST_KIND = "post"


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
    def __init__(self, table: Table, ttl_days: int) -> None:
        self.table = table
        self.ttl_days = ttl_days

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

    def get_many(self, post_ids: list[str], now: datetime | None = None) -> dict[str, Post]:
        """Posts by id in one BatchGetItem per 100; expired or missing ones are left out."""
        found: dict[str, Post] = {}
        wanted = list(dict.fromkeys(post_ids))
        for start in range(0, len(wanted), 100):
            keys: list[dict[str, Any]] = [{"post_id": i} for i in wanted[start : start + 100]]
            request: dict[str, Any] = {self.table.name: {"Keys": keys}}
            for raw in batch_get(self.table.meta.client, request, "posts"):
                if is_expired({"expiration": raw.get("expires_at")}, now):
                    continue
                post = item_to_post(dict(raw))
                found[post.id] = post
        return found

    def add_also_posted_by(self, post_id: str, handle: str) -> None:
        """Note another author of the same job on a stored post (once; never its own author).

        An update, not an insert: the match stream (INSERTs of kind post) does not see it.
        """
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
