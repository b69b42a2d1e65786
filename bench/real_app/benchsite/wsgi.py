"""The WSGI application, with the admin's CSS and JavaScript served from the installed apps (as runserver does
in development; a deployment would put them behind the web server, which this bench does not have)."""

import os

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = StaticFilesHandler(get_wsgi_application())
