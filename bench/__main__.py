"""`make bench`: run every benchmark module in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    status = 0
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        print(f"\n=== bench/{info.name}.py ===", flush=True)
        status |= int(module.main(sys.argv[1:]) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
