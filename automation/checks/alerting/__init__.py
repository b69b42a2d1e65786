"""Alerting: `policy` decides, from a check's state and a run, whether to open, remind or recover (a pure
function, no I/O); `channels` are the alert channels (a ticket per failing check, a signed webhook POST to a
chat tool) that deliver those notifications through the history store's outbox. The ticket trackers a ticket
channel hands over to (Jira, Zendesk, a webhook *tracker*) are automation.tickets', not these.
"""
