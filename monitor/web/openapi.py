"""The OpenAPI 3.1 document of ``/api/v1/`` (served at ``/api/v1/openapi.json``).

Written by hand as data, next to the handlers it describes (``monitor.web.api``); a test
checks that its paths and methods are exactly the API's routes, so it cannot describe
something that does not exist or miss something that does.
"""

from __future__ import annotations

from typing import Any

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust

__all__ = ["openapi_document"]


def _param(
    name: str, where: str, desc: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {"name": name, "in": where, "description": desc, "required": required, "schema": schema}


_TIME = {"type": "string", "format": "date-time"}
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_NTIME = {"type": ["string", "null"], "format": "date-time"}
_PAGING = [
    _param(
        "limit",
        "query",
        "Items per page (1-1000).",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    ),
    _param("cursor", "query", "next_cursor of the previous page.", _STR),
]
_ERRORS = {
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "403": {"$ref": "#/components/responses/Error"},
    "503": {"$ref": "#/components/responses/Error"},
}


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next_cursor": {"type": ["string", "null"], "description": "null on the last page"},
        },
    }


_SCOPE_PARAM = _param(
    "scope",
    "query",
    "address or domain (default: address when the value has an @).",
    {"type": "string", "enum": [s.value for s in ListScope]},
)
_VALUE = _param("value", "path", "An address or a domain.", _STR, required=True)

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": _STR}},
    "Suppression": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "scope": {"type": "string", "enum": [s.value for s in ListScope]},
            "value": _STR,
            "reason": {"type": "string", "enum": [r.value for r in SuppressionReason]},
            "created_at": _TIME,
            "updated_at": _TIME,
            "expires_at": _NTIME,
            "note": _NSTR,
            "source_event_id": {"type": ["integer", "null"]},
        },
    },
    "NewSuppression": {
        "type": "object",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "value": _STR,
            "scope": {"type": "string", "enum": [s.value for s in ListScope]},
            "reason": {
                "type": "string",
                "enum": [r.value for r in SuppressionReason],
                "default": "manual",
            },
            "note": _STR,
            "expires_at": _TIME,
        },
    },
    "Event": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "key": {"type": "string", "description": "idempotency key (also in webhooks)"},
            "kind": {"type": "string", "enum": [k.value for k in EventKind]},
            "address": _NSTR,
            "recipient_domain": _NSTR,
            "reason": _NSTR,
            "status": _NSTR,
            "reply_code": _NSTR,
            "hard": {"type": ["boolean", "null"]},
            "diagnostic": _NSTR,
            "remote_mta": _NSTR,
            "feedback_type": _NSTR,
            "campaign": _NSTR,
            "source_ip": _NSTR,
            "message_id": _NSTR,
            "sent_message_id": {"type": ["integer", "null"]},
            "trust": {"type": "string", "enum": [t.value for t in Trust]},
            "source": _STR,
            "source_ref": _NSTR,
            "occurred_at": _TIME,
            "ingested_at": _TIME,
            "details": {"type": "object"},
        },
    },
    "Sent": {"type": "object", "description": "One message to one recipient (sent_messages)."},
    "RelayMessage": {"type": "object", "description": "One message accepted by the relay."},
    "Message": {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": ["sent", "relay"]},
            "sent": {"$ref": "#/components/schemas/Sent"},
            "relay_message": {"$ref": "#/components/schemas/RelayMessage"},
            "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            "recipients": {"type": "array", "items": {"$ref": "#/components/schemas/Sent"}},
        },
    },
    "SuppressionPage": _page("Suppression"),
    "EventPage": _page("Event"),
}

_PATHS: dict[str, Any] = {
    "/api/v1/suppressions": {
        "get": {
            "summary": "List suppressions (oldest first), filtered and paged.",
            "security": [{"bearer": ["read"]}],
            "parameters": [
                _param(
                    "reason",
                    "query",
                    "Only this reason.",
                    {"type": "string", "enum": [r.value for r in SuppressionReason]},
                ),
                _param(
                    "scope",
                    "query",
                    "Only addresses or only domains.",
                    {"type": "string", "enum": [s.value for s in ListScope]},
                ),
                _param("contains", "query", "Value contains this text.", _STR),
                _param("since", "query", "Created at or after.", _TIME),
                *_PAGING,
            ],
            "responses": {"200": _json("SuppressionPage"), **_ERRORS},
        },
        "post": {
            "summary": "Suppress an address or a domain (201 new, 200 refreshed).",
            "security": [{"bearer": ["write"]}],
            "requestBody": {"required": True, **_json("NewSuppression")},
            "responses": {"201": _json("Suppression"), "200": _json("Suppression"), **_ERRORS},
        },
    },
    "/api/v1/suppressions/{value}": {
        "get": {
            "summary": "One suppression.",
            "security": [{"bearer": ["read"]}],
            "parameters": [_VALUE, _SCOPE_PARAM],
            "responses": {"200": _json("Suppression"), "404": _json("Error"), **_ERRORS},
        },
        "delete": {
            "summary": "Lift a suppression (204), 404 when there is none.",
            "security": [{"bearer": ["write"]}],
            "parameters": [_VALUE, _SCOPE_PARAM],
            "responses": {"204": {"description": "removed"}, "404": _json("Error"), **_ERRORS},
        },
    },
    "/api/v1/events": {
        "get": {
            "summary": "List events (in the order they were stored), filtered and paged.",
            "security": [{"bearer": ["read"]}],
            "parameters": [
                _param(
                    "kind",
                    "query",
                    "Event kinds, repeated or comma-separated.",
                    {"type": "string", "enum": [k.value for k in EventKind]},
                ),
                _param("since", "query", "Occurred at or after.", _TIME),
                _param("until", "query", "Occurred before.", _TIME),
                _param("campaign", "query", "Only this campaign.", _STR),
                _param("domain", "query", "Only this recipient domain.", _STR),
                _param(
                    "trust",
                    "query",
                    "Trust levels, repeated or comma-separated.",
                    {"type": "string", "enum": [t.value for t in Trust]},
                ),
                *_PAGING,
            ],
            "responses": {"200": _json("EventPage"), **_ERRORS},
        },
    },
    "/api/v1/messages/{id}": {
        "get": {
            "summary": "A sent message (numeric sent_messages id) or a relay message (its "
            "queue id) with its events.",
            "security": [{"bearer": ["read"]}],
            "parameters": [
                _param("id", "path", "sent_messages id or relay queue id", _STR, required=True)
            ],
            "responses": {"200": _json("Message"), "404": _json("Error"), **_ERRORS},
        },
    },
}


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The document; ``server_url`` is ``[web] public_url`` when set."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "deliverwatch API",
            "version": "1",
            "description": "Suppressions, events and messages of a deliverwatch installation. "
            "Bearer tokens come from [web.tokens.NAME] in config.toml; 'write' implies 'read'.",
        },
        "paths": _PATHS,
        "components": {
            "schemas": _SCHEMAS,
            "responses": {"Error": {"description": "An error", **_json("Error")}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    if server_url:
        doc["servers"] = [{"url": server_url.rstrip("/")}]
    return doc
