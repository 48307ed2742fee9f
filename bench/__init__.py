"""kapiko's benchmarks: ingest, in-process queries, HTTP side by side with baselines, workers.

Benchmarks print figures and write bench/out/results.json; they never fail on a timing.
Run them with `make bench` (full) or `make bench-quick` (seconds-long smoke run).
This package imports nothing at the top level so that the Datasette venv can import its app.
It sets one BLAS thread per process before anything loads numpy, as service/gunicorn_conf.py does
for the service's workers, so every server it starts (and the in-process runs) is measured so.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
