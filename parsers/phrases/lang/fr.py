"""French: Exchange NDRs, Orange and La Poste, Free, and translated Postfix/Exim templates."""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        r"utilisateur (?:inconnu|inexistant|introuvable)",
        r"destinataire (?:inconnu|inexistant|introuvable|invalide)",
        r"adresse (?:du destinataire |destinataire |e-?mail |electronique |de messagerie )?"
        r"(?:inconnue|inexistante|invalide|introuvable)",
        r"adresse .{0,60}est introuvable",  # Exchange: "L'adresse de messagerie ... introuvable"
        r"(?:utilisateur|destinataire|adresse|compte|boite aux lettres|bal) .{0,40}"
        r"n'existe (?:pas|plus)",
        r"aucun (?:utilisateur|destinataire|compte|boite aux lettres) (?:de ce nom|correspondant)",
        r"destinataire .{0,30}n'a pas ete trouve",
        r"boite aux lettres (?:inexistante|introuvable|inconnue)",
    ],
    _R.HOST_UNKNOWN: [
        r"(?:nom de domaine|domaine|hote)(?: de destination| du destinataire| distant)?"
        r" (?:est )?(?:inconnu|inexistant|introuvable)",
        r"(?:domaine|hote) .{0,40}n'existe pas",
        r"impossible de (?:trouver|resoudre) (?:le domaine|l'hote)",
    ],
    _R.MAILBOX_FULL: [
        r"boite (?:aux lettres |de reception |mail )?(?:du destinataire |de reception )?"
        r"(?:est )?(?:pleine|saturee)",
        r"quota (?:de stockage |de la boite )?(?:depasse|atteint)",
        r"depassement (?:de|du) quota",
        r"espace (?:de stockage |disque )?(?:insuffisant|plein|sature)",
        r"messagerie (?:est )?saturee",
    ],
    _R.SUSPEND: [
        r"(?:compte|boite aux lettres|boite|adresse|utilisateur) (?:du destinataire )?(?:est )?"
        r"(?:desactivee?|suspendue?|bloquee?|inactive?|fermee?|cloturee?)",
    ],
    _R.HAS_MOVED: [r"a change d'adresse"],
    _R.FILTERED: [
        r"(?:le destinataire|l'utilisateur) (?:refuse|a bloque|n'accepte pas) (?:vos|les|ce)",
        r"refuse par (?:le destinataire|les regles du destinataire)",
    ],
    _R.REJECTED: [
        r"(?:expediteur|emetteur) (?:refuse|rejete|invalide|inconnu|interdit|non autorise"
        r"|bloque)",
        r"adresse (?:de l'expediteur|d'expediteur|emettrice) (?:refusee|rejetee|invalide"
        r"|inconnue|interdite|non autorisee|bloquee)",
    ],
    _R.BLOCKED: [
        r"(?:adresse ip|votre ip|ip) .{0,40} (?:bloquee|listee|blacklistee)",
        r"(?:en|sur (?:une|la)) liste noire",
        r"connexion (?:refusee|rejetee)",
    ],
    _R.SPAM_DETECTED: [
        r"(?:considere|identifie|detecte|classe|juge) comme (?:du )?"
        r"(?:spam|pourriel|indesirable|courrier indesirable)",
        r"spam detecte",
        r"pourriel",
        r"(?:courrier|contenu|message) indesirable",
    ],
    _R.VIRUS_DETECTED: [
        r"virus (?:detecte|trouve)",
        r"contient (?:un )?virus",
        r"piece jointe (?:infectee|dangereuse)",
    ],
    _R.POLICY_VIOLATION: [
        r"(?:contraire|non conforme) a (?:la|notre) politique",
        r"refuse pour des raisons de (?:politique|securite)",
        r"piece jointe (?:interdite|non autorisee)",
    ],
    _R.MESG_TOO_BIG: [
        r"message trop (?:volumineux|gros|grand)",
        r"depasse la taille maximale",
        r"taille (?:du message |maximale )?(?:depassee|excessive|trop grande)",
    ],
    _R.EXPIRED: [
        r"delai (?:d'attente |de remise |de connexion |d'expiration )?(?:depasse|expire|ecoule)",
        r"message expire",
        r"n'a pas pu etre (?:remis|distribue) (?:dans|apres|pendant) ",
    ],
    _R.NETWORK_ERROR: [r"boucle (?:de messagerie|de routage|detectee)", r"trop de sauts"],
    _R.NO_RELAYING: [r"(?:relais|relayage) (?:refuse|interdit|non autorise)"],
    _R.AUTH_FAILURE: [
        r"echec (?:de la verification |de l'authentification )?(?:spf|dkim|dmarc)",
        r"(?:spf|dkim|dmarc) (?:invalide|echoue|en echec)",
    ],
    _R.SECURITY_ERROR: [r"authentification (?:requise|obligatoire|necessaire|echouee)"],
    _R.TOO_MANY_CONN: [r"trop de (?:connexions|destinataires)"],
    _R.SPEEDING: [r"trop de messages", r"(?:limite|quota) d'envoi (?:depasse|atteint)"],
    _R.SYSTEM_ERROR: [r"erreur (?:interne|systeme|temporaire)(?: du serveur)?"],
    _R.NOT_ACCEPT: [r"(?:domaine|serveur) .{0,30}n'accepte pas (?:de |le )?(?:courrier|messages)"],
}
