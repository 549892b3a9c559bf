"""The information sheet of Art. 15(1) GDPR ("Informations sur le traitement"): texts the administrator
edits in the back office, copied into every archive (its ``index.html``) as they stand at the export."""
