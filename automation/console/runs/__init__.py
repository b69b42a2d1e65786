"""Runs started from the console: their rows, events and questions in the store, the executor that runs them
in a bounded pool through `api.run`, and the service the pages, the JSON API and the event stream all call."""
