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
                    "airflow_provider_offers.operators.decisions",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Adobe Offer Library",
                "python-modules": ["airflow_provider_offers.sensors.offers"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Adobe Offer Library",
                "python-modules": ["airflow_provider_offers.triggers.offers"],
            }
        ],
        "extra-links": ["airflow_provider_offers.operators.offers.AdobeOfferLink"],
        "connection-types": [
            {
                "connection-type": "adobe_offers",
                "hook-class-name": "airflow_provider_offers.hooks.offers.OfferLibraryHook",
                "hook-name": "Adobe Offer Library",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {
                        "host": "API base URL",
                        "login": "Client ID",
                        "password": "Client secret",
                    },
                    "placeholders": {
                        "host": DEFAULT_API_URL,
                        "login": "Client ID from Adobe Developer Console (also the x-api-key)",
                        "password": "OAuth Server-to-Server client secret",
                    },
                },
                "conn-fields": {
                    "org_id": {
                        "label": "IMS Org ID",
                        "description": "Organization ID, e.g. 1234ABCD@AdobeOrg "
                        "(sent as x-gw-ims-org-id).",
                        "schema": {"type": ["string", "null"], "pattern": "^\\S+@AdobeOrg$"},
                    },
                    "sandbox_name": {
                        "label": "Sandbox",
                        "description": "Sandbox technical name (sent as x-sandbox-name).",
                        "schema": {"type": ["string", "null"], "default": DEFAULT_SANDBOX},
                    },
                    "scopes": {
                        "label": "Scopes",
                        "description": "Comma-separated IMS scopes, as shown in Developer Console.",
                        "schema": {"type": ["string", "null"], "default": DEFAULT_SCOPES},
                    },
                    "ims_url": {
                        "label": "IMS URL",
                        "description": "IMS base URL; tokens come from {ims_url}/ims/token/v3.",
                        "schema": {"type": ["string", "null"], "default": DEFAULT_IMS_URL},
                    },
                },
            }
        ],
    }
