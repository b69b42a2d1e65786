"""The web side of the checks, reading the history store only: `status` says what each check is doing (for
`checks status`, `checks history`, /api/status and the page), `app` is the status page's web app (/, /api/status,
/metrics, /healthz, /evidence), and `server` is `runbook checks web`, that app with no scheduler in the process.
"""
