"""Apache Airflow provider for Adobe Journey Optimizer's Offer Library.

This module stays import-light: Airflow calls ``get_provider_info()`` while it discovers
providers, so nothing here may import hooks, operators, httpx or pydantic.
"""

from __future__ import annotations

__version__ = "0.1.0"

DEFAULT_API_URL = "https://platform.adobe.io"
DEFAULT_IMS_URL = "https://ims-na1.adobelogin.com"
DEFAULT_SCOPES = "openid,AdobeID,read_organizations,additional_info.projectedProductContext,session"
DEFAULT_SANDBOX = "prod"
# An IMS org id: letters and digits, then "@AdobeOrg". The connection form and
# `api.inputs.parse_org_id` both use this one pattern.
ORG_ID_PATTERN = r"^[A-Za-z0-9]+@AdobeOrg$"
# A sandbox technical name: lower case (the title the UI shows is not one). The form and
# `api.inputs.parse_sandbox_name` both use this one pattern.
SANDBOX_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
# Airflow 3.3.2's Test button sends `port: 0` for a connection saved without a port, and the
# API server refuses that as "differs from the stored connection": so the form shows Port.
PORT_HINT = "443, or the port in the URL (the Test button needs one)"


def _optional(kind: str = "string", **schema: object) -> dict:
    """The JSON schema of a field one may leave empty (the form saves no value)."""
    return {"type": [kind, "null"], **schema}


# The connection's extras, as the form shows them (label, help, JSON schema). The UI marks a
# field whose type does not allow null as required and refuses to save it empty.
CONNECTION_FIELDS: dict[str, dict] = {
    "org_id": {
        "label": "IMS Org ID",
        "description": "Required. Your organization's IMS org id, e.g. 1234ABCD5678EF90@AdobeOrg "
        "(Developer Console, project credentials; sent as x-gw-ims-org-id). Checked by "
        "the Test button and before every call.",
        "schema": {"type": "string", "minLength": 10, "pattern": ORG_ID_PATTERN},
    },
    "sandbox_name": {
        "label": "Sandbox",
        "description": "Sandbox technical name (sent as x-sandbox-name); operators and "
        "sensors can override it.",
        "schema": _optional(default=DEFAULT_SANDBOX, pattern=SANDBOX_NAME_PATTERN),
    },
    "scopes": {
        "label": "Scopes",
        "description": "Comma-separated IMS scopes, as shown in Developer Console.",
        "schema": _optional(default=DEFAULT_SCOPES),
    },
    "ims_url": {
        "label": "IMS URL",
        "description": "IMS base URL; tokens come from {ims_url}/ims/token/v3 (the emulator: "
        "its own URL).",
        "schema": _optional(default=DEFAULT_IMS_URL),
    },
    "client_secrets": {
        "label": "More client secrets",
        "description": "Optional, for secret rotation: other client secrets, comma-separated, "
        "tried in turn after the Client secret when IMS refuses it.",
        "schema": _optional(format="password"),
    },
    "ui_tenant": {
        "label": "Experience Cloud tenant",
        "description": "Optional: your Experience Cloud tenant (the short name in "
        'experience.adobe.com/#/@<tenant>/...), so the "Adobe ..." links open your '
        "organization. Empty: the links open Journey Optimizer in your default organization.",
        "schema": _optional(pattern="^[A-Za-z0-9_-]*$"),
    },
    "token_cache": {
        "label": "Token cache",
        "description": "Where IMS access tokens are kept between tasks: machine (one "
        "encrypted cache shared by the tasks on a machine), process (each task process gets "
        "its own token), off (a new token for every client). Empty: machine.",
        # No schema default: Airflow masks the value of a field whose name holds "token" in
        # what it sends the form, which would then save "***" as the default.
        "schema": _optional(enum=["machine", "process", "off"]),
    },
    "token_cache_dir": {
        "label": "Token cache directory",
        "description": "Directory of the machine token cache (an absolute path, or one "
        "starting with ~). Empty: ~/.cache/airflow-provider-offers/ims-tokens (under "
        "$XDG_CACHE_HOME when set).",
        "schema": _optional(),
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "description": "How long one request may take before it counts as failed (and is "
        "retried when that is safe). Empty: 60 seconds (10 to connect).",
        "schema": _optional("number", exclusiveMinimum=0),
    },
    "allow_insecure_http": {
        "label": "Allow plain http",
        "description": "Only for a trusted network: allow an http:// API base URL or IMS URL "
        "to a host other than this machine (the client secret and tokens then travel in clear). "
        "Empty: no; http to localhost, 127.0.0.1 or ::1 (the emulator) always works.",
        "schema": _optional("boolean"),
    },
    "max_attempts": {
        "label": "Attempts per request",
        "description": "How many times one request is tried, retries included (1: no retry). "
        "Empty: 5.",
        "schema": _optional("integer", minimum=1),
    },
}


PLATFORM_DATASET_URIS = {
    "schemes": ["adobe-platform"],
    "handler": "airflow_provider_offers.assets.sanitize_uri",
    "factory": "airflow_provider_offers.assets.create_asset",
    # Used by the OpenLineage provider when it is installed (the `openlineage` extra).
    "to_openlineage_converter": "airflow_provider_offers.lineage.platform_dataset_to_openlineage",
}


def get_provider_info() -> dict:
    """Describe the provider to Airflow's ProvidersManager (Airflow 3.2+ declarative form)."""
    return {
        "package-name": "airflow-provider-offers",
        "name": "Adobe Offer Library",
        "description": "Manage Adobe Journey Optimizer's Offer Library (fallback offers, "
        "decisions) from Airflow, with a bundled local emulator.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Adobe Offer Library",
                "external-doc-url": "https://experienceleague.adobe.com/en/docs/journey-optimizer/"
                "using/decisioning/offer-decisioning/api-reference/getting-started",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Adobe Offer Library",
                "python-modules": ["airflow_provider_offers.hooks.offers"],
            }
        ],
        "operators": [
            {
                "integration-name": "Adobe Offer Library",
                "python-modules": [
                    "airflow_provider_offers.operators.offers",
                    "airflow_provider_offers.operators.catalog",
                    "airflow_provider_offers.operators.placements",
                    "airflow_provider_offers.operators.rules",
                    "airflow_provider_offers.operators.collections",
                    "airflow_provider_offers.operators.decisions",
                    "airflow_provider_offers.operators.batch_decisioning",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Adobe Offer Library",
                "python-modules": [
                    "airflow_provider_offers.sensors.offers",
                    "airflow_provider_offers.sensors.batch_decisioning",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Adobe Offer Library",
                "python-modules": [
                    "airflow_provider_offers.triggers.offers",
                    "airflow_provider_offers.triggers.batch_decisioning",
                ],
            }
        ],
        # Platform datasets (batch decisioning's output) as assets: see assets.py
        "asset-uris": [PLATFORM_DATASET_URIS],
        "dataset-uris": [PLATFORM_DATASET_URIS],
        "extra-links": [
            f"airflow_provider_offers.links.{name}"
            for name in (
                "AdobeOfferLink",
                "AdobeOffersLink",
                "AdobePlacementLink",
                "AdobeCollectionQualifierLink",
                "AdobeDecisionRuleLink",
                "AdobeCollectionLink",
                "AdobeDecisionLink",
            )
        ],
        "connection-types": [
            {
                "connection-type": "adobe_offers",
                "hook-class-name": "airflow_provider_offers.hooks.offers.OfferLibraryHook",
                "hook-name": "Adobe Offer Library",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "extra"],
                    "relabeling": {
                        "host": "API base URL",
                        "port": "Port (for the Test button)",
                        "login": "Client ID",
                        "password": "Client secret",
                    },
                    "placeholders": {
                        "host": DEFAULT_API_URL,
                        "port": PORT_HINT,
                        "login": "Client ID from Adobe Developer Console (also the x-api-key)",
                        "password": "OAuth Server-to-Server client secret",
                    },
                },
                "conn-fields": CONNECTION_FIELDS,
            }
        ],
    }
