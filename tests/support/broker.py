"""The broker down for this process only: the web side publishes to a closed loopback port."""

import contextlib
import os
import socket


def _drop_connection_pools(app) -> None:
    # Dropped, not closed: objects that keep a reference (the control mailbox) may still use them.
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_unreachable():
    """While inside, this process's Celery app publishes to a port nobody listens on.

    The workers keep their own connection to the run's Redis, which stays up for everyone else.
    Celery reads ``CELERY_BROKER_WRITE_URL`` before its settings, and the pools are dropped so that
    the next publish connects to the new address (and, afterwards, back to the real one).
    """
    from gdpr_portal.celery import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    saved = os.environ.get("CELERY_BROKER_WRITE_URL")
    os.environ["CELERY_BROKER_WRITE_URL"] = f"redis://127.0.0.1:{closed_port}/0"
    _drop_connection_pools(app)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CELERY_BROKER_WRITE_URL", None)
        else:
            os.environ["CELERY_BROKER_WRITE_URL"] = saved
        _drop_connection_pools(app)
