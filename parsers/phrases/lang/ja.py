"""Japanese: carriers (docomo, au, SoftBank), ISP webmail, Exchange and m-FILTER notices."""

from __future__ import annotations

from parsers.records import Reason

_R = Reason

_WHO = r"(?:ユーザー?|宛先|受信者|アカウント|メールアドレス|アドレス)"

PATTERNS: dict[Reason, list[str]] = {
    _R.USER_UNKNOWN: [
        r"宛先不明",
        rf"{_WHO}(?:が|は)?(?:存在しません|見つかりません|存在しない|不明です)",
        r"存在しない(?:ユーザー?|メールアドレス|アドレス|宛先)",
        r"該当するユーザー?(?:は|が)(?:いません|存在しません)",
    ],
    _R.HOST_UNKNOWN: [
        r"(?:ドメイン|ホスト)(?:が|は)?(?:存在しません|見つかりません|不明です)",
        r"存在しないドメイン",
    ],
    _R.MAILBOX_FULL: [
        r"(?:メールボックス|メール ボックス|受信箱|メールボックスの容量)(?:が|は)?"
        r"(?:いっぱい|一杯|満杯|容量オーバー|容量超過)",
        r"容量(?:を)?(?:超過|超えて|オーバー)",
        r"容量制限を超え",
    ],
    _R.SUSPEND: [
        r"(?:アカウント|メールボックス|ユーザー?)(?:が|は)?(?:停止|無効|利用停止|凍結|休止)",
    ],
    _R.FILTERED: [r"受信拒否", r"受信を拒否"],
    _R.REJECTED: [r"送信者(?:アドレス)?(?:が|は)?(?:拒否|無効|不明)"],
    _R.BLOCKED: [r"(?:ipアドレス|ip)(?:が|は)?(?:ブロック|拒否|ブラックリスト)", r"ブラックリスト"],
    _R.SPAM_DETECTED: [r"迷惑メール(?:と判定|として)", r"スパム(?:と判定|として|メール)"],
    _R.VIRUS_DETECTED: [r"ウイルス(?:を検出|が検出|に感染)"],
    _R.POLICY_VIOLATION: [r"ポリシー(?:違反|により拒否)"],
    _R.MESG_TOO_BIG: [
        r"(?:メッセージ|メール)(?:の)?サイズ(?:が|は)?(?:大きすぎ|超過|制限を超え)",
        r"(?:メッセージ|メール)が大きすぎ",
    ],
    _R.EXPIRED: [r"タイムアウト", r"配信期限", r"有効期限(?:が|を)?(?:切れ|超え)"],
    _R.NETWORK_ERROR: [r"ループ(?:を検出|しています)"],
    _R.NO_RELAYING: [r"中継(?:は)?(?:許可されていません|拒否|できません)"],
    _R.AUTH_FAILURE: [r"(?:spf|dkim|dmarc)(?:の)?(?:認証|検証)(?:に)?失敗"],
    _R.SECURITY_ERROR: [r"認証が必要"],
    _R.TOO_MANY_CONN: [r"接続数(?:が)?(?:多すぎ|超過|制限)", r"宛先(?:数)?が多すぎ"],
    _R.SYSTEM_ERROR: [r"システムエラー", r"内部エラー"],
}
