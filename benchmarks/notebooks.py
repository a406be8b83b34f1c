"""Time every notebook under a profile, each with a cold experiment cache.

Run: ``python benchmarks/notebooks.py [--profile quick|standard] [--only 01,02]``. Prints one
line per notebook (wall time including kernel start-up) and exits non-zero on any failure.
"""

import argparse
import os
import sys
import tempfile

from sparsepriv_nb import cli

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="quick", choices=cli.PROFILES)
    parser.add_argument("--only")
    args = parser.parse_args()
    failed = False
    for info in cli._select(cli.find_notebooks(), args.only):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["SPARSEPRIV_DATA"] = tmp  # cold cache (datasets re-staged offline)
            _, rows = cli.run(profile=args.profile, only=info.key, output=tmp + "/report",
                              log=lambda *a, **k: None)
        row = rows[0]
        failed |= row["status"] != "ok"
        print(f"{args.profile:8} {row['name']:32} {row['status']:6} {row['seconds']:6.1f} s",
              flush=True)
    sys.exit(1 if failed else 0)
