"""Run in the bench's Django virtual environment: create the tables (migrate) and the two accounts the flows
use, a superuser and one ordinary user. Their names come as arguments; the superuser's password comes in
BENCH_DJANGO_ADMIN_PASSWORD, not on the command line where `ps` shows it."""

import os
import sys

import django
from django.core.management import call_command

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402  (needs django.setup() first)


def main(admin: str, user: str, email: str) -> None:
    call_command("migrate", interactive=False, verbosity=0)
    users = get_user_model()
    users.objects.create_superuser(admin, f"{admin}@example.com", os.environ["BENCH_DJANGO_ADMIN_PASSWORD"])
    users.objects.create_user(user, email)  # no password: it never signs in, the admin edits it


if __name__ == "__main__":
    main(*sys.argv[1:4])
