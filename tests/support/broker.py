"""The broker down for this process only: the web side publishes to a loopback port where no broker is."""

import contextlib
import os
import socket


def _drop_connection_pools(app) -> None:
    # Dropped, not closed: objects that keep a reference (the control mailbox) may still use them.
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_unreachable(*, silent: bool = False):
    """While inside, this process's Celery app publishes to a port with no broker behind it.

    By default nobody listens there (connection refused); ``silent`` listens without ever answering,
    as a hung broker or a dropped network does. The workers keep their own connection to the run's
    Redis, which stays up for everyone else. Celery reads ``CELERY_BROKER_WRITE_URL`` before its
    settings, and the pools are dropped so that the next publish connects to the new address (and,
    afterwards, back to the real one).
    """
    from gdpr_portal.celery import app

    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(socket.socket())
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if silent:
            sock.listen(50)  # connections wait in the backlog: accepted by the kernel, never answered
        else:
            sock.close()
        saved = os.environ.get("CELERY_BROKER_WRITE_URL")
        os.environ["CELERY_BROKER_WRITE_URL"] = f"redis://127.0.0.1:{port}/0"
        _drop_connection_pools(app)
        try:
            yield
        finally:
            if saved is None:
                os.environ.pop("CELERY_BROKER_WRITE_URL", None)
            else:
                os.environ["CELERY_BROKER_WRITE_URL"] = saved
            _drop_connection_pools(app)
