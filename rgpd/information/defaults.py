"""The sheet's starting texts. They are content, not UI strings: the company's own words, in its
language (French), which the administrator completes in the back office; the archive shows them as stored.
"""

CONTROLLER = (
    "[Raison sociale de la société], [adresse du siège], représentée par [nom et fonction]. "
    "Contact : [adresse email ou postale du service en charge des données personnelles]."
)
DPO = "[Nom du délégué], [adresse email], [adresse postale]."
PURPOSES = (
    "Gestion de la relation avec nos clients et de leurs contacts : suivi des échanges, gestion des "
    "contrats et des documents transmis (bulletins de salaire, contrats de travail, pièces d'identité), "
    "respect de nos obligations légales et comptables."
)
CATEGORIES = (
    "Identité (civilité, nom, prénom, date de naissance, photo), coordonnées (adresse, email, téléphones), "
    "vie professionnelle (société, fonction), documents transmis et leurs métadonnées, notes de suivi."
)
RECIPIENTS = (
    "Les services habilités de la société (relation client, administration, ressources humaines) et nos "
    "sous-traitants techniques (hébergement, stockage), tenus à la confidentialité. Aucune donnée n'est "
    "vendue ni transférée hors de l'Union européenne."
)
RETENTION = (
    "Pendant la durée de la relation commerciale, puis 3 ans après le dernier contact, sauf obligation "
    "légale de conservation plus longue (par exemple 5 ans pour les documents contractuels). Les archives "
    "d'export sont conservées 10 jours puis supprimées automatiquement."
)
RIGHTS = (
    "Vous pouvez demander l'accès à vos données, leur rectification, leur effacement, la limitation du "
    "traitement, vous opposer au traitement et demander la portabilité de vos données (le fichier JSON de "
    "cette archive est lisible par une machine). Pour exercer ces droits, écrivez au contact ci-dessus."
)
COMPLAINT = (
    "Si vous estimez que vos droits ne sont pas respectés, vous pouvez introduire une réclamation auprès "
    "de la Commission nationale de l'informatique et des libertés (CNIL), 3 place de Fontenoy, TSA 80715, "
    "75334 Paris Cedex 07, www.cnil.fr."
)
SOURCE = (
    "Les données ont été communiquées par vous-même ou par l'entreprise cliente pour laquelle vous "
    "travaillez, ou saisies par nos équipes lors de nos échanges."
)
