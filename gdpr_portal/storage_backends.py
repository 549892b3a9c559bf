"""django-storages' S3 storage, with the S3 service description loaded once per process.

Each ``S3Storage`` (media, RGPD archives) opens its own boto3 session, per thread, and every new session
parsed botocore's S3 description again: about 10 MB of a worker's memory per extra storage or thread
(bench/RESULTS.md, "worker memory"). Here all sessions share one botocore data loader, whose cache keeps
the parsed description.
"""

from __future__ import annotations

import threading

import boto3
import botocore.session
from botocore.loaders import Loader, create_loader
from storages.backends.s3 import S3Storage as _S3Storage

_loader: Loader | None = None
_loader_lock = threading.Lock()


def shared_loader() -> Loader:
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = create_loader()
        return _loader


class S3Storage(_S3Storage):
    # Why an override of a private method: django-storages 1.14 has no setting to hand it a session or a
    # client, and ``_create_session`` is its only hook. What runs inside is public API, as botocore's
    # maintainers advise for this very cost (boto/botocore#3078): ``register_component("data_loader")``
    # and ``boto3.Session(botocore_session=...)``. Only boto3 appending its data folder to the shared
    # loader's ``search_paths`` at each session needs undoing. Sessions with a profile are left as is.
    def _create_session(self):
        if self.session_profile:
            return super()._create_session()
        core = botocore.session.get_session()
        loader = shared_loader()
        core.register_component("data_loader", loader)
        paths = list(loader.search_paths)
        session = boto3.Session(
            botocore_session=core,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.security_token,
        )
        # boto3 appends its own data directory to the loader each time: keep the list from growing.
        with _loader_lock:
            loader.search_paths[:] = list(dict.fromkeys(paths + loader.search_paths))
        return session
