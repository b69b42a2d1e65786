"""The watchdog: what runs the checks. `run_check` is one run of one check (its attempts through api.run, the
degraded verdict, the record, the alert policy, the channels); `scheduler` is the embedded loop that ticks the
checks on their schedules on a few worker threads; `serve` is `runbook checks serve`, that loop in the
foreground with the status page beside it.
"""
