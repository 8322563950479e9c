"""Spanish: Exchange NDRs, Latin American and Spanish ISPs, translated MTA templates."""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        r"usuario (?:desconocido|inexistente|no existe|no encontrado|no valido)",
        r"no existe (?:el|ese|este|dicho|tal) (?:usuario|destinatario|buzon)",
        r"(?:destinatario|direccion|cuenta|buzon) (?:de correo )?(?:electronico )?"
        r"(?:desconocid[oa]|inexistente|no existe|no encontrad[oa]|no valid[oa])",
        r"no se (?:encontro|ha encontrado|pudo encontrar) la direccion",
        r"la direccion .{0,60}no existe",
        r"no hay (?:ningun )?(?:usuario|buzon) con (?:ese|este) nombre",
    ],
    _R.HOST_UNKNOWN: [
        r"dominio (?:desconocido|inexistente|no existe|no encontrado)",
        r"(?:host|servidor) (?:desconocido|no encontrado)",
        r"no se (?:encontro|pudo encontrar) el dominio",
    ],
    _R.MAILBOX_FULL: [
        r"buzon (?:de correo )?(?:del destinatario )?(?:esta )?(?:lleno|completo|saturado)",
        r"cuota (?:de (?:almacenamiento|buzon|disco) )?(?:excedida|superada|agotada)",
        r"(?:excedido|superado) (?:su|la) cuota",
        r"espacio (?:de almacenamiento )?(?:insuficiente|agotado)",
        r"bandeja de entrada (?:esta )?llena",
    ],
    _R.SUSPEND: [
        r"(?:cuenta|buzon|usuario|direccion) (?:esta |ha sido )?(?:desactivad[oa]"
        r"|suspendid[oa]|bloquead[oa]|inactiv[oa]|deshabilitad[oa])",
    ],
    _R.FILTERED: [r"(?:el destinatario|el usuario) (?:rechaza|ha bloqueado|no acepta) (?:sus|los)"],
    _R.REJECTED: [
        r"(?:direccion del remitente|remitente|emisor) (?:rechazad[oa]|no valid[oa]"
        r"|desconocid[oa]|bloquead[oa]|no autorizad[oa])",
    ],
    _R.BLOCKED: [
        r"(?:direccion ip|ip) .{0,40} (?:bloqueada|bloqueado|listada|listado)",
        r"lista negra",
        r"conexion rechazada",
    ],
    _R.SPAM_DETECTED: [
        r"(?:considerado|detectado|clasificado|identificado|marcado) como "
        r"(?:spam|correo no deseado)",
        r"correo no deseado",
        r"spam detectado",
    ],
    _R.VIRUS_DETECTED: [
        r"virus (?:detectado|encontrado)",
        r"contiene (?:un )?virus",
        r"adjunto (?:infectado|peligroso)",
    ],
    _R.POLICY_VIOLATION: [
        r"(?:rechazado|bloqueado) por (?:razones de )?politica",
        r"infringe .{0,30}politica",
        r"adjunto no permitido",
    ],
    _R.MESG_TOO_BIG: [
        r"mensaje (?:es )?demasiado (?:grande|extenso|largo)",
        r"(?:excede|supera) el tamano maximo",
        r"tamano (?:del mensaje |maximo )?(?:excedido|superado)",
    ],
    _R.EXPIRED: [
        r"tiempo de (?:espera|conexion) (?:agotado|excedido)",
        r"se agoto el tiempo",
        r"no se (?:ha )?podido entregar .{0,40}(?:despues|tras) .{0,40}(?:intentos|horas|dias)",
        r"plazo de entrega (?:expirado|vencido)",
    ],
    _R.NETWORK_ERROR: [r"bucle (?:de correo|detectado)", r"demasiados saltos"],
    _R.NO_RELAYING: [r"(?:retransmision|reenvio|relay) (?:denegad[oa]|no permitid[oa])"],
    _R.AUTH_FAILURE: [
        r"(?:spf|dkim|dmarc) (?:fallido|no valido)",
        r"fallo (?:de |en (?:la )?)?(?:verificacion )?(?:spf|dkim|dmarc)",
    ],
    _R.SECURITY_ERROR: [
        r"autenticacion (?:requerida|necesaria|obligatoria|fallida)",
        r"se requiere autenticacion",
    ],
    _R.TOO_MANY_CONN: [r"demasiad[oa]s (?:conexiones|destinatarios)"],
    _R.SPEEDING: [
        r"demasiados (?:mensajes|correos)",
        r"limite de envio (?:excedido|superado|alcanzado)",
    ],
    _R.SYSTEM_ERROR: [r"error (?:interno|temporal|del sistema)"],
    _R.NOT_ACCEPT: [r"(?:dominio|servidor) no acepta (?:correo|mensajes)"],
}
