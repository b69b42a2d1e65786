"""Scheduled synthetic checks: the checks file, the scheduler, the alert policy, history, metrics and the
status page. Each module has one job; the CLI (`runbook checks ...`) and the scheduler call the same functions.
"""
