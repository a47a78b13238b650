"""Benchmark settings: production settings, plus the bare baseline endpoints under /bench/.

Everything Laurel serves is unchanged (same middleware, DRF settings, database and cache);
only ROOT_URLCONF differs, so the baselines run on exactly the same stack.
"""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
