"""``python -m effleura.bench``: every benchmark, one after the other."""

import sys

from effleura.bench import availability

if __name__ == "__main__":
    sys.exit(availability.main())
