"""The agents' console (issue 21). So far its foundation, with no server yet: `permissions` (may this actor do
this action on this resource: one pure function over data), `config` (console.yaml: teams and server settings),
`store` (console.db or the shared database), `accounts` (users and their Argon2id passwords), `tokens` (API
tokens, kept hashed) and `values` (the checks on the names, roles, teams and passwords people give).
"""
