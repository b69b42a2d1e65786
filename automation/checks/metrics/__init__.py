"""Prometheus metrics of the checks, under the same names and labels either way: `in_process` counts the runs
this process saw (the embedded scheduler), `from_store` reads them from the history store at each scrape (a
fleet, where other processes ran them).
"""
