"""One small repository per DynamoDB table. Tables are injected so tests pass moto-backed ones."""

from jobalerts.store.matches import MatchesRepository
from jobalerts.store.posts import PostsRepository
from jobalerts.store.searches import SearchesRepository
from jobalerts.store.state import StateRepository
from jobalerts.store.subscribers import SubscribersRepository

__all__ = [
    "MatchesRepository",
    "PostsRepository",
    "SearchesRepository",
    "StateRepository",
    "SubscribersRepository",
]
