"""Index snapshots in S3: one object per match shard, `index/shard-<N>.snapshot`, overwritten.

The only module that talks to S3. The bucket is versioned, so a reader always gets a whole
object (the previous one until an upload completes), and its lifecycle expires replaced
versions; the worker never lists or deletes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "index/"
_MISSING = {"NoSuchKey", "404", "NotFound"}


def snapshot_key(shard: str) -> str:
    return f"{PREFIX}shard-{shard}.snapshot"


class SnapshotsRepository:
    def __init__(self, bucket: str, client: S3Client) -> None:
        self.bucket = bucket
        self.client = client

    def get(self, shard: str) -> bytes | None:
        """The newest snapshot of `shard`, or None when there is none yet."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=snapshot_key(shard))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        return response["Body"].read()

    def put(self, shard: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=snapshot_key(shard),
            Body=data,
            ContentType="application/octet-stream",
        )
