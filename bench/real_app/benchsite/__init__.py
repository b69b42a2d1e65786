"""A minimal Django project whose admin the real-application bench drives (bench/bench_real_app.py). It runs in
its own virtual environment under ~/.cache/runbook-bench/, never in the project's .venv."""
