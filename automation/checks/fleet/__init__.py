"""The fleet: the distributed mode on Celery with Redis and a shared database. `ticks` is its library without
Celery (what beat sends, what a worker does with a tick); `celery_app` is the one Celery app and its task;
`beat` is RedBeat's scheduler subclass; `processes` starts the Celery worker and beat processes for
`runbook checks worker` and `runbook checks beat`.
"""
