"""The runner: browser pool, step dispatch, locators, templating, outcomes."""
