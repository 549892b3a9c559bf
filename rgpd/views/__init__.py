"""Back-office views of the RGPD engine (thin callers of rgpd.services)."""
