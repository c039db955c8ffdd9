"""Bodies and listings for the catalog's unit tests (plain dicts, as the server shows them)."""

from __future__ import annotations

WEB = "https://ns.adobe.com/xdm/channel-types/web"


def offer(name: str, **fields) -> dict:
    return {
        "name": name,
        "status": "approved",
        "representations": [
            {
                "channel": WEB,
                "placement": "dps:offer-placement:1",
                "components": [
                    {"type": "imagelink", "format": "image/png", "deliveryURL": "https://cdn/u.png"}
                ],
            }
        ],
        **fields,
    }


def listed(name: str, offer_id: str, etag: int = 1, **fields) -> dict:
    """An offer as the server lists it."""
    return {**offer(name, **fields), "id": offer_id, "etag": etag, "modified": "2026-01-01T00:00Z"}


def actions(plan) -> list[tuple[str, str]]:
    return [(e["name"], e["action"]) for e in plan.entries]
