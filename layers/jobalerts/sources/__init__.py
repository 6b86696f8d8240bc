"""Post sources (X, Mastodon, Bluesky) behind one interface; see base.Source."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jobalerts.errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from jobalerts.settings import SourceSettings
    from jobalerts.sources.base import Source, SourceStores

SOURCE_NAMES = ("x", "mastodon", "bluesky")


def build_source(
    name: str,
    settings: SourceSettings,
    client: httpx.Client,
    credentials: Mapping[str, Any],
    stores: SourceStores,
) -> Source:
    """The source called `name`; modules are imported lazily so one broken source stays local."""
    if name in SOURCE_NAMES:
        module = importlib.import_module(f"jobalerts.sources.{name}")
        source: Source = module.build(settings, client, credentials, stores)
        return source
    raise ConfigurationError(f"unknown source {name!r}; expected one of {', '.join(SOURCE_NAMES)}")
