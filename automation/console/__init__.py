"""The agents' console (issue 21): `runbook server`, its pages and its JSON API. So far sign-in and the runbooks.

The foundation: `permissions` (may this actor do this action on this resource: one pure function over data),
`config` (console.yaml: teams and server settings), `store` (console.db or the shared database), `accounts`
(users and their Argon2id passwords), `tokens` (API tokens, kept hashed), `values` (the checks on the names,
roles, teams and passwords people give). The server: `server` (the app and its layers, uvicorn), `gate` (a
session or a token, or no further), `security` (headers, CSRF), `sessions` (server-side, with their CSRF
token), `throttle` (wrong passwords), `context` (what the routes share), `pages` (sign-in, the runbook list),
`json_api` (/api/runbooks).
"""
