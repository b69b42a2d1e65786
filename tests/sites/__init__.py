"""The small sites and real servers tests run against, imported as `sites.<module>` (pytest puts tests/ on
sys.path, as the folder of the root conftest.py; bench/ adds it itself):

    servers.py      real redis-server, PostgreSQL, dovecot and SMTP servers on free loopback ports; PageHandler
    own_site.py     a team's own site (no sandbox) that a runbook reaches with --base-url
    leak_site.py    a site that shows and echoes secrets in every way a page can, for the leak property tests
    mail_site.py    a site that mails a code, and the mail it sends, for the from_mail tests
    lab/            static pages exercising the runbook language apart from the sandbox's screens
"""
