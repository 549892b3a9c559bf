"""A second, test-only population ("members", with their files) declared on the RGPD engine exactly as
an app of the product would declare one: installed by ``tests/settings.py`` for the test run only."""
