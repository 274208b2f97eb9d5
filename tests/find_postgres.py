"""Print a DATABASE_URL for the local PostgreSQL if one answers, else nothing.

`make test` uses it when DATABASE_URL is not set: the suite runs on PostgreSQL wherever
there is one, and falls back to SQLite (skipping the PostgreSQL-only tests, with the
reason) where there is none. Standard library plus psycopg2, no Django.
"""

import os
import sys

CANDIDATE = os.environ.get("QUORUM_LOCAL_PG", "postgresql://postgres@127.0.0.1:5432/quorum")


def main() -> int:
    try:
        import psycopg2
    except ImportError:
        return 0
    try:
        psycopg2.connect(CANDIDATE.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        print(f"find_postgres: no PostgreSQL at {CANDIDATE}: {exc}".strip(), file=sys.stderr)
        return 0
    print(CANDIDATE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
