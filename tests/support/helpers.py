"""Small helpers the tests share: waiting for what a worker does, plain HTTP to the S3 gateway."""

import time
import urllib.error
import urllib.request
from collections.abc import Callable


def wait_until(
    predicate: Callable[[], object], *, timeout: float = 90, interval: float = 0.2, message: str = "condition"
):
    """Poll ``predicate`` until it returns something truthy; return that, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def http_get(url: str) -> tuple[int, bytes, dict]:
    """A plain GET, as a browser following a link would do it: status, body, headers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback test gateway
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)
