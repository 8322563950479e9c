"""How away notices are worded, by language: the tables ``parsers.autoreply`` reads.

Written for text that ``parsers.phrases.fold`` has folded and lower-cased (Latin letters
without accents: "conges", "buro", "ferias"; Cyrillic ``ё`` as ``е``; CJK as it is), from
how people and the responders of webmail and groupware (Outlook/Exchange "Automatic
replies", Gmail and Apple "vacation responder", Zimbra, Roundcube's managesieve vacation,
Domino "out of office") word them. Each language has three lists:

* ``SUBJECT``: prefixes responders put before the original subject ("Automatic reply:",
  "Abwesenheitsnotiz:", "Автоответ:");
* ``AWAY``: the writer saying they are away ("I am out of the office", "je suis absente",
  "estoy de vacaciones", "я в отпуске", "休暇中");
* ``CUES``: what a notice says beside it and a personal reply rarely does: until when, the
  return, whom to contact meanwhile, limited access to mail.

A message with no RFC 3834 field and no such subject counts as an away notice only when its
own text has both an ``AWAY`` and a ``CUES`` phrase (``parsers.autoreply``).
"""

from __future__ import annotations

__all__ = ["LANGUAGES"]

_EN = {
    "SUBJECT": [
        r"auto(?:matic)?[ -]?(?:reply|response)\s*:",
        r"auto\s*:",
        r"out of (?:the )?office\b",
        r"away until\b",
        r"on vacation\b",
        r"vacation (?:reply|response|notice)",
        r"autoreply\b",
    ],
    "AWAY": [
        r"\bi(?: am|'m| will be) (?:currently |now )?(?:away|out of (?:the )?office|out of town"
        r"|travell?ing|not in the office|on (?:annual |parental |maternity |paternity |sick )?"
        r"(?:vacation|holiday|holidays|leave|a business trip))",
        r"\bi am out (?:until|till|from)\b",
        r"\bi(?: am|'m) off (?:until|till|work)\b",
        r"\b(?:currently|presently) out of (?:the )?office\b",
        r"\bout of (?:the )?office (?:until|till|from|and|with)\b",
        r"\bthis (?:mailbox|inbox|address) is (?:not|no longer) (?:monitored|being monitored)",
    ],
    "CUES": [
        r"\b(?:until|till|through)\b",
        r"\bback (?:on|in|at)\b",
        r"\breturn(?:ing)? (?:on|to)\b",
        r"\b(?:upon|on|after) my return\b",
        r"\bwhen i (?:return|get back|am back)\b",
        r"\burgent\b",
        r"\blimited (?:access|e-?mail access)\b",
        r"\bplease contact\b",
        r"\bwill (?:respond|reply|get back to you)\b",
    ],
}

_FR = {
    "SUBJECT": [r"reponse automatique", r"absence du bureau", r"message d'absence", r"absent\s*:"],
    "AWAY": [
        r"\bje suis (?:actuellement |en ce moment )?(?:absente?|en conges?|en vacances"
        r"|en deplacement|hors du bureau|en formation|en arret)",
        r"\bje serai (?:absente?|en conges?|en vacances|en deplacement)",
        r"\babsente? du bureau\b",
    ],
    "CUES": [
        r"\bjusqu'?(?:au|a|a la|en)\b",
        r"\bde retour\b",
        r"\bretour (?:le|prevu)\b",
        r"\ba mon retour\b",
        r"\burgen(?:ce|t)",
        r"\bacces (?:limite|restreint)",
        r"\b(?:contacter|contactez)\b",
    ],
}

_DE = {
    "SUBJECT": [r"abwesenheitsnotiz", r"automatische antwort", r"abwesend\b", r"autoantwort"],
    "AWAY": [
        r"\bich bin (?:derzeit |zurzeit |zur zeit |momentan |aktuell |leider )?(?:nicht im buro"
        r"|abwesend|im urlaub|auf (?:geschafts|dienst)?reise|nicht erreichbar"
        r"|in elternzeit|au(?:ss|ß)er haus)",
        r"\bich bin (?:bis|vom|ab)\b",
        r"\bnicht im buro\b",
        r"\babwesend\b",
    ],
    "CUES": [
        r"\bbis (?:zum|einschliesslich|am|\d)",
        r"\bab dem\b",
        r"\bwieder (?:erreichbar|im buro|da|zuruck)\b",
        r"\bnach meiner ruckkehr\b",
        r"\bdringend",
        r"\beingeschrankt",
        r"\bwenden sie sich\b",
        r"\bvertretung\b",
    ],
}

_ES = {
    "SUBJECT": [r"respuesta automatica", r"fuera de la oficina", r"ausente\s*:"],
    "AWAY": [
        r"\b(?:estoy|estare|me encuentro) (?:fuera de la oficina|de vacaciones|ausente"
        r"|de viaje|fuera)",
        r"\bfuera de la oficina\b",
    ],
    "CUES": [
        r"\bhasta (?:el|la|\d)",
        r"\b(?:a mi (?:vuelta|regreso)|regreso|volvere|retorno)\b",
        r"\burgen(?:cia|te)",
        r"\bacceso limitado\b",
        r"\bcontact(?:e|ar|ar con)\b",
    ],
}

_PT = {
    "SUBJECT": [r"resposta automatica", r"fora do escritorio", r"ausente\s*:"],
    "AWAY": [
        r"\b(?:estou|estarei|encontro-me|me encontro) (?:ausente|de ferias|em ferias"
        r"|fora do escritorio|fora|de licenca|em viagem)",
        r"\bfora do escritorio\b",
    ],
    "CUES": [
        r"\bate (?:o dia|dia|\d)",
        r"\b(?:no meu regresso|regresso|retorno|voltarei|estarei de volta)\b",
        r"\burgen(?:cia|te)",
        r"\bacesso limitado\b",
        r"\b(?:contacte|contatar|contate|contactar)\b",
    ],
}

_IT = {
    "SUBJECT": [r"risposta automatica", r"fuori (?:ufficio|sede)\s*:", r"assente\s*:"],
    "AWAY": [
        r"\b(?:sono|saro|mi trovo) (?:in ferie|fuori (?:ufficio|sede)|assente|in viaggio"
        r"|in vacanza|in trasferta)",
        r"\bfuori ufficio\b",
    ],
    "CUES": [
        r"\bfino (?:al|a|alla)\b",
        r"\b(?:rientro|al mio ritorno|tornero)\b",
        r"\burgen(?:za|ze|te|ti)",
        r"\baccesso limitato\b",
        r"\bcontattare\b",
    ],
}

_NL = {
    "SUBJECT": [r"automatisch antwoord", r"afwezigheidsbericht", r"afwezig\s*:"],
    "AWAY": [
        r"\bik ben (?:momenteel |tot |vanaf |niet |afwezig|op vakantie|met vakantie"
        r"|buiten kantoor|niet op kantoor)",
        r"\bafwezig\b",
    ],
    "CUES": [
        r"\btot en met\b",
        r"\btot (?:\d|maandag|dinsdag|woensdag|donderdag|vrijdag)",
        r"\b(?:terug op|weer aanwezig|na mijn terugkomst)\b",
        r"\b(?:dringende|spoed)",
        r"\bbeperkt\b",
    ],
}

_RU = {
    "SUBJECT": [r"автоответ", r"автоматический ответ", r"нет в офисе", r"в отпуске"],
    "AWAY": [
        r"\bя (?:сейчас |в настоящее время )?(?:в отпуске|в командировке|на больничном"
        r"|отсутствую|не в офисе)",
        r"\bменя нет в офисе\b",
        r"\bя буду отсутствовать\b",
        r"\bнахожусь в (?:отпуске|командировке)\b",
    ],
    "CUES": [
        r"\bдо \d",
        r"\bдо (?:понедельника|вторника|среды|четверга|пятницы)\b",
        r"\b(?:вернусь|по возвращении|после возвращения)\b",
        r"\bсрочн",
        r"\bограничен",
        r"\bобращайтесь\b",
    ],
}

_PL = {
    "SUBJECT": [r"odpowiedz automatyczna", r"autoodpowiedz", r"nieobecnosc\s*:"],
    "AWAY": [
        r"\b(?:jestem|bede|przebywam) (?:na urlopie|poza biurem|nieobecn[ya])",
        r"\bpoza biurem\b",
    ],
    "CUES": [
        r"\bdo (?:dnia|\d)",
        r"\b(?:wracam|po powrocie|po moim powrocie)\b",
        r"\bpiln",
        r"\bograniczony dostep\b",
        r"\bprosze o kontakt\b",
    ],
}

_SV = {
    "SUBJECT": [r"franvaro", r"autosvar", r"automatiskt svar"],
    "AWAY": [
        r"\bjag (?:ar|kommer att vara) (?:pa semester|ledig|borta|tjanstledig|franvarande"
        r"|inte pa kontoret|pa resa)",
    ],
    "CUES": [
        r"\btill och med\b",
        r"\b(?:t ?o ?m|till) \d",
        r"\btillbaka\b",
        r"\bbradskande\b",
        r"\bbegransad\b",
    ],
}

_DA_NO = {
    "SUBJECT": [r"fravær", r"autosvar", r"automatisk svar", r"ferie\s*:"],
    "AWAY": [
        r"\bjeg er (?:pa ferie|fravær|ikke pa kontoret|bortrejst|pa kursus|pa reise"
        r"|pa barsel)",
        r"\bjeg har ferie\b",
    ],
    "CUES": [
        r"\btil og med\b",
        r"\b(?:frem til|tilbake|tilbage|igen den)\b",
        r"\bhaste",
        r"\bbegrenset|begrænset",
    ],
}

_FI = {
    "SUBJECT": [r"automaattinen vastaus", r"poissaolo"],
    "AWAY": [r"\bolen (?:lomalla|poissa|vuosilomalla|matkoilla|sairaslomalla)"],
    "CUES": [r"\basti\b", r"\bpalaan\b", r"\bkiireelli", r"\brajoitetusti\b"],
}

_CS = {
    "SUBJECT": [r"automaticka odpoved", r"nepritomnost"],
    "AWAY": [r"\bjsem (?:na dovolene|mimo kancelar|nepritomn[ya]|na sluzebni ceste)"],
    "CUES": [r"\bdo \d", r"\b(?:vratim|po navratu)\b", r"\bnalehav", r"\bomezen"],
}

_TR = {
    "SUBJECT": [r"otomatik (?:yanit|yanıt|cevap)", r"ofis d[iı]s[iı]nda"],
    "AWAY": [
        r"\b(?:izindeyim|tatildeyim|ofiste degilim|ofiste değilim)",
        r"\bofis d[iı]s[iı]nday[iı]m",
    ],
    "CUES": [r"\bkadar\b", r"\bdon[uü]s", r"\bacil\b"],
}

_JA = {
    "SUBJECT": [r"自動応答", r"自動返信", r"不在"],
    "AWAY": [
        r"不在にしております",
        r"不在です",
        r"休暇(?:中|を頂いて|をいただいて)",
        r"出張中",
        r"外出しております",
    ],
    "CUES": [r"まで", r"戻り", r"復帰", r"緊急", r"返信"],
}

_ZH = {
    "SUBJECT": [r"自动回复", r"自動回覆", r"不在办公室"],
    "AWAY": [r"目前不在", r"(?:正在|正)休假", r"不在办公室", r"出差", r"休假中"],
    "CUES": [r"期间", r"回来", r"返回", r"紧急", r"之前", r"回复"],
}

_KO = {
    "SUBJECT": [r"자동 ?회신", r"자동 ?응답", r"부재중"],
    "AWAY": [r"부재중", r"휴가 ?중", r"출장 ?중"],
    "CUES": [r"까지", r"복귀", r"긴급", r"회신"],
}

#: Every language's lists, by ISO 639-1 code ("da_no": Danish and Norwegian together).
LANGUAGES: dict[str, dict[str, list[str]]] = {
    "en": _EN,
    "fr": _FR,
    "de": _DE,
    "es": _ES,
    "pt": _PT,
    "it": _IT,
    "nl": _NL,
    "ru": _RU,
    "pl": _PL,
    "sv": _SV,
    "da_no": _DA_NO,
    "fi": _FI,
    "cs": _CS,
    "tr": _TR,
    "ja": _JA,
    "zh": _ZH,
    "ko": _KO,
}
