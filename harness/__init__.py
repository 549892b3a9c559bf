"""Real services for `make test`, `make bench` and the tests: throwaway PostgreSQL and Redis, a private
SeaweedFS S3 gateway, a Celery worker process, and the admin's bulk-action payload.

Shared by tests/, bench/ and scripts/, and belonging to none of them: nothing here imports tests or bench.
"""
