"""The house rules that can be checked by reading the code: what ships, and who may import what.

See docs/architecture.md for the parts and why the rules are what they are.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "jobalerts"
FUNCTIONS = ROOT / "functions"
# Only for running locally or testing: never in the deployed layer.
LOCAL_ONLY = {"jobalerts_local", "yaml", "moto", "pytest", "hypothesis", "time_machine", "tests"}


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_the_layer_holds_runtime_code_only() -> None:
    # Given every module the Lambda layer ships
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(LAYER)
        for name in _imports(path)
        if name.split(".")[0] in LOCAL_ONLY
    }
    # Then none of them imports the local harness or a test-only library
    assert offenders == set()
    # And the harness does not live inside the layer any more
    assert not (LAYER / "local").exists()
    assert not (LAYER / "cli").exists()


@pytest.mark.parametrize("handler", sorted(FUNCTIONS.glob("*/app.py")), ids=lambda p: p.parent.name)
def test_a_handler_imports_the_layer_and_powertools_only(handler: Path) -> None:
    allowed_roots = {"jobalerts", "aws_lambda_powertools", "__future__", "typing", "functools"}
    allowed_roots |= {"collections", "json", "os", "datetime"}
    foreign = {name for name in _imports(handler) if name.split(".")[0] not in allowed_roots}
    # A handler that reaches for boto3 or the harness has logic that belongs in the layer
    assert foreign == set()


def test_only_the_wiring_module_builds_boto3_clients() -> None:
    builders = {
        str(path.relative_to(ROOT))
        for path in _modules(LAYER)
        if "boto3.client(" in (text := path.read_text(encoding="utf-8"))
        or "boto3.resource(" in text
        or "boto3.Session(" in text
    }
    assert builders == {"layers/jobalerts/aws.py"}


def test_the_sam_layer_is_built_from_the_runtime_folder() -> None:
    import re

    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    # The layer's ContentUri is layers/: what is under it is exactly what ships
    assert re.search(r"ContentUri:\s*layers/?\s*$", template, re.MULTILINE)
    assert not (ROOT / "layers" / "jobalerts_local").exists()


def test_only_the_wiring_module_asks_jobalerts_aws_for_clients() -> None:
    # Given every call to a client builder of jobalerts.aws in the layer
    call = re.compile(r"\baws\.(sesv2|sns|sqs|s3|ssm|table|dynamodb)\(")
    callers = {
        str(path.relative_to(ROOT))
        for path in _modules(LAYER)
        if call.search(path.read_text(encoding="utf-8"))
    }
    # Then the services, repositories and sources take their clients from the composition root;
    # the store's `open_table` (via _dynamo) is how wiring opens a table by name
    assert callers == {"layers/jobalerts/wiring.py", "layers/jobalerts/store/_dynamo.py"}


@pytest.mark.parametrize("handler", sorted(FUNCTIONS.glob("*/app.py")), ids=lambda p: p.parent.name)
def test_a_handler_loads_its_own_settings_and_is_built_by_wiring(handler: Path) -> None:
    text = handler.read_text(encoding="utf-8")
    # A handler neither reads the everything-model nor wires services itself
    assert "get_settings" not in text
    assert re.search(r"\w+Settings\.load\(\)", text)
    assert "wiring.build_" in text


STORE = LAYER / "store"


def _outside_store() -> list[Path]:
    return [p for p in _modules(LAYER) if STORE not in p.parents]


def test_only_the_store_imports_its_dynamodb_helpers_or_boto3_dynamodb() -> None:
    # Given every layer module outside store/ (aws.py builds the resource the store uses)
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _outside_store()
        for name in _imports(path)
        if name.startswith(("jobalerts.store._dynamo", "boto3.dynamodb"))
        or (name.startswith("mypy_boto3_dynamodb") and path.name != "aws.py")
    }
    # Then none reaches for the store's private helpers or DynamoDB's own types
    assert offenders == set()


def test_only_the_store_opens_a_table() -> None:
    openers = {
        str(path.relative_to(ROOT))
        for path in [*_outside_store(), *FUNCTIONS.glob("*/app.py")]
        if path.name != "aws.py"
        and any(
            needle in path.read_text(encoding="utf-8")
            for needle in (".Table(", "aws.table(", "aws.dynamodb(")
        )
    }
    assert openers == set()


def test_nothing_in_the_layer_reads_a_process_wide_settings_object() -> None:
    # Given every module the layer ships
    offenders = {
        str(path.relative_to(ROOT))
        for path in _modules(LAYER)
        if "get_settings" in (text := path.read_text(encoding="utf-8"))
        or re.search(r"\bSettings\(\)", text)
        or "jobalerts_local.settings" in text
    }
    # Then only a handler's `<Function>Settings.load()` reads the environment, and wiring is
    # given what it loaded: there is no everything-model to fall back to below the root
    assert offenders == set()
    from jobalerts import settings

    assert not hasattr(settings, "get_settings")
    assert not hasattr(settings, "Settings")


def _store_classes() -> Iterator[tuple[str, type]]:
    import importlib
    import inspect

    for path in _modules(STORE):
        module = importlib.import_module(f"jobalerts.store.{path.stem}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                yield f"{path.stem}.{name}", cls


def test_no_repository_defaults_its_table_bucket_or_path() -> None:
    import inspect

    # Given every class the store defines, and the parameters of its constructor
    lenient = {
        f"{where}({parameter.name})"
        for where, cls in _store_classes()
        if "__init__" in vars(cls)
        for parameter in inspect.signature(cls.__init__).parameters.values()
        if parameter.name in {"table", "bucket", "path", "client", "ttl_days"}
        and parameter.default is not inspect.Parameter.empty
    }
    # Then each is a required argument: which table, bucket or path is wiring's decision
    assert lenient == set()
    assert any(where == "subscribers.SubscribersRepository" for where, _ in _store_classes())


SOURCES = LAYER / "sources"


def test_no_source_builds_a_repository_or_a_client() -> None:
    # Given every call in the sources' modules
    builders = re.compile(r"\b(\w+Repository|aws\.\w+|boto3\.\w+|open_table|table_named)\(")
    offenders = {
        f"{path.relative_to(ROOT)}: {match.group(1)}"
        for path in _modules(SOURCES)
        for match in builders.finditer(path.read_text(encoding="utf-8"))
    }
    imports = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(SOURCES)
        for name in _imports(path)
        if name == "jobalerts.aws" or name.startswith("boto3")
    }
    # Then the sources are handed their stores (`SourceStores`) by jobalerts.wiring
    assert offenders == set()
    assert imports == set()
