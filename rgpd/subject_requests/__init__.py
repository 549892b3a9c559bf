"""The register of data subjects' requests and their legal clock (Art. 12(3) GDPR).

``clock`` counts the deadline, ``services`` change requests, ``selectors`` read them; ``admin`` is the
page "Demandes des personnes", ``api`` its REST endpoints under ``/api/rgpd/requests/``.
"""
