"""gunicorn's settings in production (the image's CMD, docker-compose.yml and ``make run-stack`` pass
``--config`` this file).

The access log leaves out query strings and referers: a search for a contact's name travels in the query
string (the RGPD page's ``?q=``) and comes back in the Referer of the next request. Kept: client address,
time, method, path, protocol, status, size and duration. With ``LOG_FORMAT=json`` gunicorn's own lines are
JSON objects like the application's (gdpr_portal/log_format.py), through the same query-string filter.
"""

import os

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'

if os.environ.get("LOG_FORMAT") == "json":
    from gdpr_portal.log_format import gunicorn_logging_config

    logconfig_dict = gunicorn_logging_config(os.environ.get("LOG_LEVEL", "INFO"))
