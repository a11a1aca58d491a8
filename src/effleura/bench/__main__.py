"""``python -m effleura.bench`` (``make bench``): the slot-search benchmark, then the page
benchmarks on the kept data sets (docs/performance.md, section bench).

    python -m effleura.bench [--only pages|availability] [--sizes 1000,100000]
                             [--sqlite 10000] [--rounds 20] [--warmup 3] [--pages a,b]

Exits non-zero when a benchmark misses its target.
"""

import argparse
import sys

from effleura.bench import availability, runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m effleura.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["pages", "availability"], help="run one benchmark only")
    parser.add_argument(
        "--sizes", default="1000,100000", help="practices (patients) to measure on PostgreSQL (default 1000,100000)"
    )
    parser.add_argument("--sqlite", type=int, default=10_000, help="the SQLite practice's patients (0: none)")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds of every page (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--pages", default="", help="comma-separated page names (default: every page)")
    parser.add_argument("--quick", action="store_true", help="few rounds: a smoke run, not a measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup = min(args.rounds, 3), 1
    codes = []
    if args.only in (None, "availability"):
        codes.append(availability.main(["--quick"] if args.quick else []))
        print()
    if args.only in (None, "pages"):
        try:
            sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        except ValueError:
            parser.error(f"--sizes takes whole numbers separated by commas, not {args.sizes!r}")
        codes.append(
            runner.main(
                sizes=sizes,
                sqlite=args.sqlite,
                rounds=args.rounds,
                warmup=args.warmup,
                pages=[p for p in args.pages.split(",") if p] or None,
            )
        )
    return max(codes, default=0)


if __name__ == "__main__":
    sys.exit(main())
