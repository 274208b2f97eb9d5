"""Production settings plus the benchmark's baseline views (``bench/urls.py``).

The suite serves Quorum with these settings so that the trivial baselines run under
exactly the same gunicorn, middleware and database configuration as the ballot endpoint.
"""

from council.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
