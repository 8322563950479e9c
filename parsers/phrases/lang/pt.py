"""Portuguese (Brazil and Portugal): Exchange NDRs, UOL/Terra/Sapo, translated templates."""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        r"(?:usuario|utilizador|destinatario) (?:desconhecido|inexistente|nao existe"
        r"|nao encontrado|invalido)",
        r"(?:endereco|conta|caixa postal|caixa de correio) (?:de e-?mail )?(?:de correio )?"
        r"(?:desconhecid[oa]|inexistente|nao existe|nao encontrad[oa]|invalid[oa])",
        r"nao existe (?:o|esse|este) (?:usuario|utilizador|destinatario|endereco)",
        r"endereco .{0,60}nao (?:existe|foi encontrado)",
    ],
    _R.HOST_UNKNOWN: [
        r"dominio (?:desconhecido|inexistente|nao existe|nao encontrado)",
        r"(?:host|servidor) (?:desconhecido|nao encontrado)",
    ],
    _R.MAILBOX_FULL: [
        r"caixa (?:postal |de correio |de entrada )?(?:do destinatario )?(?:esta )?"
        r"(?:cheia|lotada)",
        r"(?:cota|quota) (?:de armazenamento )?(?:excedida|ultrapassada|esgotada)",
        r"espaco (?:de armazenamento )?(?:insuficiente|esgotado)",
    ],
    _R.SUSPEND: [
        r"(?:conta|caixa postal|usuario|utilizador|endereco) (?:esta |foi )?(?:desativad[oa]"
        r"|suspens[oa]|bloquead[oa]|inativ[oa]|desabilitad[oa])",
    ],
    _R.FILTERED: [r"(?:o destinatario|o usuario) (?:recusa|bloqueou|nao aceita) (?:as|os|suas)"],
    _R.REJECTED: [
        r"(?:endereco do remetente|remetente) (?:rejeitad[oa]|invalid[oa]|desconhecid[oa]"
        r"|bloquead[oa]|nao autorizad[oa])",
    ],
    _R.BLOCKED: [
        r"(?:endereco ip|ip) .{0,40} (?:bloqueado|bloqueada|listado|listada)",
        r"lista negra",
        r"conexao recusada",
    ],
    _R.SPAM_DETECTED: [
        r"(?:considerad[oa]|detectad[oa]|classificad[oa]|identificad[oa]|marcad[oa]) como "
        r"(?:spam|lixo eletronico|mensagem indesejada)",
        r"spam detectado",
        r"lixo eletronico",
    ],
    _R.VIRUS_DETECTED: [
        r"virus (?:detectado|encontrado)",
        r"contem (?:um )?virus",
        r"anexo (?:infectado|perigoso)",
    ],
    _R.POLICY_VIOLATION: [
        r"(?:rejeitad[oa]|bloquead[oa]) por (?:motivos de )?politica",
        r"(?:violacao|viola) (?:a |da |de )?politica",
        r"anexo nao permitido",
    ],
    _R.MESG_TOO_BIG: [
        r"mensagem (?:e )?(?:muito|demasiado) (?:grande|extensa)",
        r"(?:excede|ultrapassa) o tamanho maximo",
        r"tamanho (?:da mensagem |maximo )?(?:excedido|ultrapassado)",
    ],
    _R.EXPIRED: [
        r"tempo (?:limite )?(?:de ligacao |de conexao |de espera )?(?:esgotado|excedido)",
        r"nao (?:foi possivel|pode ser) entregue .{0,40}(?:apos|depois de) .{0,40}"
        r"(?:tentativas|horas|dias)",
        r"prazo de entrega (?:expirado|excedido)",
    ],
    _R.NETWORK_ERROR: [r"loop (?:de correio|detectado)"],
    _R.NO_RELAYING: [
        r"(?:retransmissao|reencaminhamento|relay) (?:negad[oa]|nao permitid[oa]|recusad[oa])",
    ],
    _R.AUTH_FAILURE: [
        r"(?:spf|dkim|dmarc) (?:falhou|invalido)",
        r"falha (?:de |na )?(?:verificacao )?(?:spf|dkim|dmarc)",
    ],
    _R.SECURITY_ERROR: [r"autenticacao (?:requerida|necessaria|obrigatoria|falhou)"],
    _R.TOO_MANY_CONN: [r"(?:demasiadas|muitas) conexoes", r"(?:demasiados|muitos) destinatarios"],
    _R.SPEEDING: [r"limite de envio (?:excedido|ultrapassado|atingido)"],
    _R.SYSTEM_ERROR: [r"erro (?:interno|temporario|do sistema)"],
    _R.NOT_ACCEPT: [r"(?:dominio|servidor) nao aceita (?:correio|mensagens|e-?mails)"],
}
