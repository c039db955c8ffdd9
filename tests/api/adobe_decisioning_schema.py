"""Adobe's decisioning schema definitions, transcribed as data (not a copy of Adobe's file).

Source: AdobeDocs/journey-optimizer-apis, commit 823243d3c85d55361f62168934cdfcd120c984ba,
static/decision-management.yaml (Swagger 2.0, "ODS APIs" 0.0.1), `definitions:`. Only the
definitions a v1.0 decision request and answer use, and only their constraint keywords
(`CONSTRAINT_KEYWORDS`); descriptions, titles and examples are left out. The test machine has
no network, so the tests read this; `scripts/check_adobe_schema.py` compares it with Adobe's
real file (when a person has fetched it) and validates the same bodies against that file.
"""

from __future__ import annotations

from typing import Any

SOURCE = (
    "AdobeDocs/journey-optimizer-apis@823243d3c85d55361f62168934cdfcd120c984ba:"
    "static/decision-management.yaml"
)
CONSTRAINT_KEYWORDS = frozenset(
    {
        "type",
        "required",
        "properties",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "enum",
        "additionalProperties",
        "$ref",
        "format",
        "default",
    }
)

DEFINITIONS: dict[str, Any] = {
    "decision-request-v1.0": {
        "type": "object",
        "required": ["xdm:propositionRequests", "xdm:profiles"],
        "properties": {
            "xdm:propositionRequests": {
                "type": "array",
                "items": {"$ref": "#/definitions/proposition-request"},
                "minItems": 1,
                "maxItems": 30,
            },
            "xdm:profiles": {
                "type": "array",
                "items": {"$ref": "#/definitions/profile-reference"},
                "maxItems": 1,
                "minItems": 1,
            },
            "xdm:allowDuplicatePropositions": {
                "type": "object",
                "$ref": "#/definitions/allow-duplication-propositions",
            },
            "xdm:responseFormat": {"type": "object", "$ref": "#/definitions/response-format"},
            "xdm:dryRun": {"type": "boolean", "default": False},
            "xdm:mergePolicy": {"type": "object", "$ref": "#/definitions/merge-policy"},
            "xdm:validateContextData": {"type": "boolean", "default": False},
        },
    },
    "proposition-request": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:activityId": {"type": "string", "format": "uri-reference"},
            "xdm:placementId": {"type": "string", "format": "uri-reference"},
            "xdm:itemCount": {"type": "integer", "minimum": 1, "maximum": 30},
        },
        "required": ["xdm:activityId", "xdm:placementId"],
    },
    "profile-reference": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:identityMap": {"type": "object", "$ref": "#/definitions/xdm-identity-map"},
            "xdm:contextData": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "@type": {"type": "string", "format": "uri"},
                        "xdm:data": {"type": "object"},
                    },
                    "required": ["@type", "xdm:data"],
                    "additionalProperties": True,
                },
            },
            "xdm:decisionRequestId": {"type": "string"},
            "xdm:attributes": {"type": "object"},
        },
        "required": ["xdm:identityMap"],
    },
    "xdm-identity-map": {"type": "object"},
    "allow-duplication-propositions": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:acrossActivities": {"type": "boolean", "default": False},
            "xdm:acrossPlacements": {"type": "boolean", "default": False},
            "xdm:acrossSelectionStrategies": {"type": "boolean", "default": False},
        },
    },
    "merge-policy": {"type": "object", "properties": {"xdm:id": {"type": "string"}}},
    "response-format": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:includeContent": {"type": "boolean", "default": False},
            "xdm:includeMetadata": {"type": "object", "$ref": "#/definitions/include-metadata"},
        },
    },
    "include-metadata": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:activity": {"type": "array", "items": {"type": "string", "enum": ["name"]}},
            "xdm:placement": {
                "type": "array",
                "items": {"type": "string", "enum": ["name", "channel", "componentType"]},
            },
            "xdm:scope": {"type": "string"},
            "xdm:option": {
                "type": "array",
                "items": {"type": "string", "enum": ["name", "characteristics", "priority"]},
            },
        },
    },
    "decision-response-v1.0": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:propositionId": {"type": "string", "format": "uri-reference"},
            "xdm:propositions": {"type": "array", "items": {"$ref": "#/definitions/proposition"}},
            "xdm:factors": {"type": "object", "additionalProperties": {"type": "string"}},
            "ode:createDate": {"type": "number"},
        },
        "required": ["xdm:propositionId", "xdm:propositions"],
    },
    "proposition": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:activity": {"$ref": "#/definitions/activity-detail"},
            "xdm:placement": {"$ref": "#/definitions/placement-detail"},
            "xdm:scope": {"type": "string"},
            "xdm:options": {
                "type": "array",
                "items": {"$ref": "#/definitions/option-detail"},
                "minItems": 1,
            },
            "xdm:fallback": {"$ref": "#/definitions/option-detail"},
        },
    },
    "activity-detail": {
        "type": "object",
        "additionalProperties": True,
        "properties": {
            "xdm:id": {"type": "string", "format": "uri-reference"},
            "repo:etag": {"type": "string"},
            "xdm:name": {"type": "string"},
        },
        "required": ["xdm:id", "repo:etag"],
    },
    "placement-detail": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:id": {"type": "string", "format": "uri-reference"},
            "repo:etag": {"type": "string"},
            "xdm:name": {"type": "string"},
            "xdm:channel": {"type": "string", "format": "uri-reference"},
            "xdm:componentType": {"type": "string", "format": "uri-reference"},
        },
        "required": ["xdm:id", "repo:etag"],
    },
    "option-detail": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "xdm:id": {"type": "string", "format": "uri-reference"},
            "repo:etag": {"type": "string"},
            "@type": {"type": "string", "format": "uri-reference"},
            "dc:format": {"type": "string"},
            "dc:language": {"type": "array", "items": {"type": "string"}},
            "xdm:content": {"type": "string"},
            "xdm:deliveryURL": {"type": "string", "format": "uri-reference"},
            "xdm:name": {"type": "string"},
            "xdm:score": {"type": "number"},
            "xdm:priority": {"type": "number"},
            "xdm:characteristics": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["xdm:id", "repo:etag"],
    },
}


def schema_for(definition: str, definitions: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON Schema (draft 4, which Swagger 2.0 follows) for one named definition."""
    return {"definitions": definitions or DEFINITIONS, "$ref": f"#/definitions/{definition}"}
