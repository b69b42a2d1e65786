"""Code the tests share that is not a fixture: imported as `support.<module>` (tests/ is on sys.path)."""
