"""The `jobalerts` console command. Each group of subcommands lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from jobalerts_local.cli import local_cmds, preview_cmds, query_cmds, source_cmds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobalerts", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in (local_cmds, query_cmds, preview_cmds, source_cmds):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
