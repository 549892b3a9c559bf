"""Stored files (photos, documents, RGPD archives), whatever the storage holding them.

Shared by ``contacts`` and ``rgpd``, it belongs to neither:

- ``objects``: is this storage S3, its client and keys, bulk delete, presigned URLs;
- ``downloads``: the one response that serves a stored file to a user allowed to see it.

What only archives need (multipart sinks, the bucket's lifecycle rule) stays in ``rgpd.storage``.
"""
