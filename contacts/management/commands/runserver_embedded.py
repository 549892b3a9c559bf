"""``runserver`` as ``make run`` starts it: the same development server, with a longer connection queue.

Django's development server listens with a backlog of 10. More connections arriving at once (several
users, a script, a page's assets) overflow it, and the kernel resets some of them instead of letting
them wait their turn: the user sees a failed page though the server had time to answer.
"""

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.core.servers.basehttp import WSGIServer


class QueueingWSGIServer(WSGIServer):
    request_queue_size = 128


class Command(RunserverCommand):
    help = "Start the development web server (with a queue for 128 waiting connections)."
    server_cls = QueueingWSGIServer
