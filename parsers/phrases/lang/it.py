"""Italian: Exchange NDRs, Libero/Aruba/Virgilio, translated MTA templates."""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        r"utente (?:sconosciuto|inesistente|non esiste|non trovato|non valido)",
        r"(?:destinatario|indirizzo|casella|account) (?:di posta )?(?:elettronica )?"
        r"(?:sconosciut[oa]|inesistente|non esiste|non trovat[oa]|non valid[oa])",
        r"l'indirizzo .{0,60}non esiste",
        r"nessun utente (?:con questo nome|con tale nome)",
    ],
    _R.HOST_UNKNOWN: [
        r"dominio (?:sconosciuto|inesistente|non esiste|non trovato)",
        r"host (?:sconosciuto|non trovato)",
    ],
    _R.MAILBOX_FULL: [
        r"casella (?:di posta )?(?:del destinatario )?(?:e )?(?:piena|satura)",
        r"quota (?:di spazio )?(?:superata|esaurita|raggiunta)",
        r"spazio (?:su disco |di archiviazione )?(?:insufficiente|esaurito)",
    ],
    _R.SUSPEND: [
        r"(?:account|casella|utente|indirizzo) (?:e )?(?:stat[oa] )?(?:disattivat[oa]"
        r"|sospes[oa]|bloccat[oa]|disabilitat[oa]|inattiv[oa])",
    ],
    _R.FILTERED: [r"(?:il destinatario|l'utente) (?:rifiuta|ha bloccato|non accetta) (?:i|la|le)"],
    _R.REJECTED: [r"mittente (?:rifiutato|non valido|sconosciuto|bloccato|non autorizzato)"],
    _R.BLOCKED: [
        r"(?:indirizzo ip|ip) .{0,40} (?:bloccato|bloccata)",
        r"lista nera",
        r"connessione rifiutata",
    ],
    _R.SPAM_DETECTED: [
        r"(?:considerat[oa]|rilevat[oa]|classificat[oa]|identificat[oa]|marcat[oa]) come "
        r"(?:spam|posta indesiderata)",
        r"posta indesiderata",
        r"spam rilevato",
    ],
    _R.VIRUS_DETECTED: [
        r"virus (?:rilevato|trovato)",
        r"contiene (?:un )?virus",
        r"allegato (?:infetto|pericoloso)",
    ],
    _R.POLICY_VIOLATION: [
        r"(?:rifiutat[oa]|bloccat[oa]) per (?:motivi di )?(?:policy|politica|criteri)",
        r"allegato non consentito",
    ],
    _R.MESG_TOO_BIG: [
        r"messaggio (?:e )?troppo grande",
        r"(?:supera|eccede) la dimensione massima",
        r"dimensione (?:del messaggio |massima )?(?:superata|eccessiva)",
    ],
    _R.EXPIRED: [
        r"tempo (?:di attesa |di connessione )?scaduto",
        r"timeout della connessione",
        r"non e stato possibile recapitare .{0,40}(?:dopo|entro) .{0,40}(?:tentativi|ore|giorni)",
        r"(?:termine|periodo) di consegna scaduto",
    ],
    _R.NETWORK_ERROR: [r"loop (?:di posta|rilevato)", r"troppi (?:hop|salti)"],
    _R.NO_RELAYING: [
        r"(?:relay|relaying|inoltro) (?:negato|non (?:consentito|permesso|autorizzato))",
    ],
    _R.AUTH_FAILURE: [
        r"(?:spf|dkim|dmarc) (?:fallito|non valido)",
        r"verifica (?:spf|dkim|dmarc) (?:fallita|non superata)",
    ],
    _R.SECURITY_ERROR: [r"autenticazione (?:richiesta|necessaria|obbligatoria|fallita)"],
    _R.TOO_MANY_CONN: [r"troppe connessioni", r"troppi destinatari"],
    _R.SPEEDING: [r"troppi messaggi", r"limite di invio (?:superato|raggiunto)"],
    _R.SYSTEM_ERROR: [r"errore (?:interno|temporaneo|di sistema)"],
    _R.NOT_ACCEPT: [r"(?:dominio|server) non accetta (?:posta|messaggi|e-?mail)"],
}
