"""gunicorn's settings in production (the image's CMD and docker-compose.yml pass ``--config`` this file).

The access log leaves out query strings and referers: a search for a contact's name travels in the query
string (the RGPD page's ``?q=``) and comes back in the Referer of the next request. Kept: client address,
time, method, path, protocol, status, size and duration.
"""

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'
