"""German: Exchange NDRs, GMX/Web.de, T-Online and translated Postfix/Exim templates.

Folded text has no umlauts ("empfanger"); writers who spell them out ("Empfaenger") are
matched too.
"""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

_WHO = r"(?:benutzer|empfanger|empfaenger|adressat|nutzer|teilnehmer|user)"
_BOX = r"(?:e-?mail-?adresse|adresse|postfach|mailbox|konto|benutzerkonto|empfangeradresse)"

PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        rf"{_WHO} (?:ist )?(?:unbekannt|existiert nicht|nicht gefunden|nicht vorhanden)",
        r"(?:unbekannter|unbekannte|unbekanntes) (?:benutzer|empfanger|empfaenger|adresse"
        r"|e-?mail-?adresse|postfach|mailbox|nutzer)",
        rf"{_BOX} .{{0,50}}(?:existiert nicht|gibt es nicht|nicht gefunden|nicht vorhanden"
        r"|ist unbekannt)",
        r"kein(?:en)? (?:solche[rn]? )?(?:benutzer|empfanger|empfaenger|postfach)"
        r" (?:mit diesem namen|bekannt|gefunden|vorhanden)",
        r"ungultige(?:r)? empfanger",
    ],
    _R.HOST_UNKNOWN: [
        r"(?:zieldomain|domain|domane|host|rechner) (?:ist )?(?:unbekannt|existiert nicht"
        r"|nicht gefunden|nicht auflosbar)",
        r"unbekannte (?:domain|domane)",
    ],
    _R.MAILBOX_FULL: [
        r"(?:postfach|mailbox|posteingang|postfachspeicher|speicherplatz) (?:des "
        r"(?:empfangers|empfaengers) )?(?:ist )?(?:voll|uberfullt|ueberfuellt|erschopft)",
        r"(?:quota|kontingent|speicherkontingent|speichergrenze|postfachgrosse) "
        r"(?:uberschritten|ueberschritten|erreicht)",
        r"uber (?:dem |seinem )?(?:quota|kontingent)",
        r"nicht genugend speicherplatz",
    ],
    _R.SUSPEND: [
        rf"{_BOX} (?:des empfangers )?(?:ist |wurde )?(?:deaktiviert|gesperrt|stillgelegt"
        r"|inaktiv|vorubergehend gesperrt)",
    ],
    _R.FILTERED: [
        r"(?:empfanger|empfaenger) (?:lehnt|nimmt) .{0,40}(?:ab|nicht an)",
        r"vom empfanger (?:blockiert|abgelehnt)",
    ],
    _R.REJECTED: [
        r"absender(?:adresse)? (?:abgelehnt|ungultig|unbekannt|gesperrt|nicht erlaubt"
        r"|zuruckgewiesen)",
        r"ungultige(?:r)? absender",
    ],
    _R.BLOCKED: [
        r"(?:ip-adresse|ihre ip|absender-ip|ip) .{0,40} (?:gesperrt|blockiert|gelistet)",
        r"sperrliste",
        r"schwarze(?:n)? liste",
        r"verbindung (?:abgelehnt|verweigert)",
    ],
    _R.SPAM_DETECTED: [
        r"als spam (?:eingestuft|erkannt|markiert|klassifiziert|abgelehnt|bewertet)",
        r"spamverdacht",
        r"spam erkannt",
        r"unerwunschte (?:e-?mail|werbung|nachricht)",
    ],
    _R.VIRUS_DETECTED: [
        r"virus (?:gefunden|erkannt|entdeckt)",
        r"(?:enthalt|enthielt) (?:einen )?virus",
        r"virenbefall",
        r"schadsoftware",
    ],
    _R.POLICY_VIOLATION: [
        r"verstoss(?:t)? gegen .{0,30}(?:richtlinie|policy)",
        r"aus richtlinien ?grunden",
        r"unzulassige(?:r)? (?:anhang|dateianhang)",
    ],
    _R.MESG_TOO_BIG: [
        r"(?:nachricht|e-?mail|mail) (?:ist )?zu gross",
        r"(?:nachrichtengrosse|maximale grosse|grossenbeschrankung|grossenlimit) .{0,30}"
        r"(?:uberschritten|ueberschritten)",
    ],
    _R.EXPIRED: [
        r"zeituberschreitung",
        r"zeitlimit (?:uberschritten|erreicht)",
        r"konnte .{0,60}nicht (?:innerhalb|in) .{0,30}zugestellt werden",
        r"zustellversuche .{0,40}(?:aufgegeben|eingestellt|erfolglos)",
    ],
    _R.NETWORK_ERROR: [
        r"(?:mailschleife|schleife) (?:erkannt|entdeckt)",
        r"zu viele (?:hops|weiterleitungen)",
    ],
    _R.NO_RELAYING: [
        r"relaying (?:nicht (?:erlaubt|gestattet)|verweigert|abgelehnt)",
        r"weiterleitung (?:nicht erlaubt|verweigert)",
    ],
    _R.AUTH_FAILURE: [
        r"(?:spf|dkim|dmarc)[- ](?:prufung|pruefung|check) (?:fehlgeschlagen|nicht bestanden)",
        r"(?:spf|dkim|dmarc) fehlgeschlagen",
    ],
    _R.SECURITY_ERROR: [r"authentifizierung (?:erforderlich|fehlgeschlagen|notwendig)"],
    _R.TOO_MANY_CONN: [r"zu viele (?:verbindungen|empfanger|empfaenger)"],
    _R.SPEEDING: [r"zu viele (?:nachrichten|e-?mails)", r"sendelimit (?:uberschritten|erreicht)"],
    _R.SYSTEM_ERROR: [
        r"(?:interner|temporarer|vorubergehender) (?:serverfehler|fehler)",
        r"systemfehler",
    ],
    _R.NOT_ACCEPT: [
        r"(?:domain|server|host) (?:nimmt|akzeptiert) keine (?:e-?mails|nachrichten|mails)",
    ],
}
