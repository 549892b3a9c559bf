"""Admin pages of the RGPD engine: the RGPD page, export requests, the audit log."""
