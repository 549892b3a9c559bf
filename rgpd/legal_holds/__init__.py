"""Legal holds: data kept under a legal obligation (Art. 17(3) GDPR), which anonymisation must not erase.

A hold names a person as (population key, subject id), like every row of the engine, with its reason and
its end date. It blocks anonymisation (reason code ``legal_hold``) until that date and then expires by
itself: the checks compare dates, no job lifts it. ``models`` holds the row, ``selectors`` the reads,
``admin`` its pages in the "Gestion RGPD" section.
"""
