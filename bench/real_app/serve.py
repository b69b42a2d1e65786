"""Run in the bench's Django virtual environment: serve the site with waitress on a socket the bench already
bound and listens on (its file descriptor is the argument), so that the port is known before the server
starts and no other process can take it in between.

It ends on SIGTERM, and by itself when its stdin closes: the bench holds the other end of that pipe, so the
server does not outlive the bench, however the bench ends."""

import logging
import os
import socket
import sys
import threading

from benchsite.wsgi import application
from waitress import serve


def end_with_the_bench() -> None:
    sys.stdin.buffer.read()  # returns at end of file: the bench closed the pipe, or is gone
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=end_with_the_bench, daemon=True).start()
    # Quiet: "task queue depth" (a request waited for one of the threads, as Chromium's parallel requests for
    # the admin's CSS do) and Chromium's /favicon.ico 404. Errors still show.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.getLogger("django.request").setLevel(logging.ERROR)
    listening = socket.socket(fileno=int(sys.argv[1]))
    serve(application, sockets=[listening], threads=4, ident="benchsite")
