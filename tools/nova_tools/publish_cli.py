"""Command line of tools/publish."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

from nova_tools import publish

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/publish",
        description="Publish a staged package directory to its own git repository with that directory's "
        "history (fast-export | filter | fast-import), incrementally, each commit pointing back with a "
        "Source-commit trailer, package tags mapped, the result verified against the source tree.",
    )
    parser.add_argument(
        "packages", nargs="*", help="package directories (drivers/libvirt, contract-tests, ...)"
    )
    parser.add_argument("--all", action="store_true", help="every package of the rules file")
    parser.add_argument(
        "--rules", default=str(REPO_ROOT / "tools" / "publish.toml"), help="rules file (TOML)"
    )
    parser.add_argument("--source", default=str(REPO_ROOT), help="source repository (default: this one)")
    parser.add_argument("--ref", default="HEAD", help="source revision to publish (default: HEAD)")
    parser.add_argument("--target", help="override the rules' target (one package only)")
    parser.add_argument("--dry-run", action="store_true", help="say what would be published; write nothing")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)

    try:
        rules = publish.load_rules(args.rules)
    except (OSError, publish.PublishError) as error:
        print(f"publish: {error}", file=sys.stderr)
        return 2
    names = sorted(rules) if args.all else [p.rstrip("/") for p in args.packages]
    if not names:
        parser.error("name a package directory, or --all")
    unknown = [n for n in names if n not in rules]
    if unknown:
        print(
            f"publish: {', '.join(unknown)}: not in {args.rules} (known: {', '.join(sorted(rules))})",
            file=sys.stderr,
        )
        return 2
    if args.target and len(names) != 1:
        parser.error("--target needs exactly one package")

    results = []
    for name in names:
        rule = rules[name]
        target = args.target or rule.target
        if not publish.is_url(target) and not os.path.isabs(target):
            target = os.path.normpath(os.path.join(args.source, target))
        started = time.perf_counter()
        try:
            result = publish.publish(
                args.source, rule, args.ref, target, args.dry_run, progress=None if args.quiet else sys.stderr
            )
        except publish.PublishError as error:
            print(f"publish {name}: {error}", file=sys.stderr)
            return 1
        results.append({**publish.result_dict(result), "seconds": round(time.perf_counter() - started, 3)})
        if not args.json:
            verb = "would publish" if args.dry_run else "published"
            print(
                f"{name}: {verb} {result.published} commits to {target}"
                f" ({'incremental' if result.incremental else 'full'};"
                f" {result.dropped} without package changes;"
                f" tags: {', '.join(result.tags) or 'none'})" + ("" if args.dry_run else "; verified")
            )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0
