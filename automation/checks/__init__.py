"""Scheduled synthetic checks: runbooks run on a schedule against an environment, with alerts, history, metrics
and a status page. One subpackage per concern, in the shape of Gatus:

    config/     the checks file (checks.yaml): its spec, loading, and the schedule arithmetic
    watchdog/   the loop that runs checks on their schedule, and one run of one check
    alerting/   the alert policy (a pure function) and the channels that deliver its notifications
    storage/    the history store: runs, alert states, ticks, the notifications outbox
    metrics/    Prometheus metrics, counted in process or read from the history store
    web/        the status page and what `checks status` says, read from storage only
    fleet/      the distributed mode on Celery: beat, workers, and the ticks they pass
    model.py    the dataclasses these pass each other
    commands.py the bodies of `runbook checks ...` (run, status, history, ...) as library functions

The CLI (`runbook checks ...`), the embedded scheduler and the Celery workers call the same functions.
"""
