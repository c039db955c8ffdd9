"""A local Offer Library: IMS token endpoint, DPS CRUD and the hub Decisioning API.

One base URL serves `POST /ims/token/v3`, `/data/core/dps/{offers,placements,tags,offer-rules,
offer-collections,offer-decisions}` and `POST /data/core/ods/decisions`, following
`offer-library-api.md` (Adobe's documentation), never our client. State is in memory.

Use it in-process (`with run_emulator(**config) as emulator:`; the pytest fixture
`offer_library_emulator`) or as a process (`python -m airflow_provider_offers.emulator --host
127.0.0.1 --port 8080 --client-id ID --client-secret SECRET [--client-secret OLD] --org-id ORG`).
Defaults: client id `offers-emulator-client`, secret `offers-emulator-secret`, org
`EMULATOR0000000000000000@AdobeOrg`.

Layout (moto's split): `backend.py` state and rules, no FastAPI; `entities.py` the object
kinds and body validation; `listing.py` filters, ordering and cursors; `decisioning.py` the
Decisioning API; `responses.py` the HTTP layer and the record/fault middleware; `server.py`
the in-process server; `__main__.py` the CLI; `pytest_plugin.py` the fixtures.

Where Adobe is silent we chose the strict reading; every such choice is listed here, with
the `EmulatorConfig` field that changes it where one exists.

========================  ===============================================  =========================
Topic                     What the emulator does                           EmulatorConfig
========================  ===============================================  =========================
IMS body                  Must be `application/x-www-form-urlencoded`,     -
                          else 400 `invalid_request`.
IMS query string          Any of grant_type/client_id/client_secret/scope  reject_query_credentials
                          in the query string: 400 `invalid_request`
                          (Adobe allows it but advises against it).
IMS parameters            All four required (400 `invalid_request` naming  -
                          the missing one); grant other than
                          `client_credentials`: `unsupported_grant_type`;
                          unknown id or secret: 400 `invalid_client` with
                          "invalid client_id/client_secret parameter".
IMS scopes                Comma-separated, blanks stripped; each must be   allowed_scopes
                          known, else 400 `invalid_scope`.
IMS secrets               Several valid secrets per client id.             client_secrets
Tokens                    Opaque; `expires_in` seconds (86399); any        token_lifetime_seconds
                          number may coexist; `revoke_tokens()` and
                          `reset()` invalidate all of them.
Gateway order             Authorization missing 403 403010; not `Bearer`   -
                          + a live token 401 401013; x-api-key missing
                          403 403000; not the token's client 403 403003;
                          x-gw-ims-org-id missing 400 400003; not ending
                          `@AdobeOrg` 403 403027; another org 403 403025;
                          then Content-Type (400 BadRequestError body).
Content-Type              POST/PATCH on DPS: `application/json` (params    -
                          such as charset ignored);
                          `application/json-patch+json` is refused.
                          GET/DELETE: not checked.
Sandboxes                 One store per (org, x-sandbox-name); absent      default_sandbox
                          header = `prod`; any name is accepted and
                          starts empty; `sandboxId` = uuid5 of org/name.
Request id                Every answer carries `x-request-id` (the         -
                          caller's, else a new uuid4).
Create                    201 with the receipt.                            create_status
Ids                       `dps:<kind>:<16 hex>`; kinds fallback-offer,     -
                          personalized-offer, offer-placement, tag,
                          eligibility-rule, offer-filter, offer-activity.
createdBy                 `<24 hex of sha1(client id)>@AdobeID`.           -
Timestamps                UTC, milliseconds, `Z`. `modified` strictly      strictly_increasing_
                          increases per sandbox (+1 ms when the clock      timestamps, clock
                          did not move), so `-modified` is a total order.
Unknown fields            A field the API doc does not describe for the    reject_unknown_fields
                          kind is 400 naming it (`description` is
                          accepted on every kind; offers also take tags,
                          characteristics, labels; components linkURL);
                          server fields (id, etag, created, ...) in a
                          create body are 400.
Unknown query parameters  400 naming the parameter (`orderBy` is accepted  reject_unknown_query_
                          as a spelling of `orderby`).                     params
Duplicate names           Allowed: legacy guidance says names *should* be  -
                          unique, not must (no 409).
offer-type                Required on every /offers call (400 naming it),  -
                          case-insensitive; fallback and personalized
                          offers are separate: an id of one type is 404
                          under the other.
Required / known values   `name` (non-empty) on every kind; offer status   offer_statuses,
                          draft|approved|archived; decision status         decision_statuses,
                          draft|live|completed|archived (status may be     component_types
                          absent; decisioning treats that as not
                          approved/live); component `type` and placement
                          `componentType` imagelink|html|text|
                          component-text|json.
Offers                    >= 1 representation; each with channel,          -
                          placement (existing, same sandbox, not shared
                          by two representations) and >= 1 component
                          (type, format, and content or deliveryURL);
                          rank.priority integer >= 0; dates ISO-8601 with
                          offset, endDate >= startDate; profileConstraint
                          Type none|eligibilityRule (+ existing rule)|
                          anySegments|allSegments (+ segmentIdentities);
                          tags exist (<= 20); characteristics values are
                          strings; <= 10 frequency capping rules.
Placements                componentType and channel required; itemCount    -
                          >= 1; returnMetaData keys as documented, bools.
Decision rules            condition {type PQL, format pql/text, value}     -
                          required (<= 15K bytes); definedOn schemas need
                          ref or altId.
Collections               filterType any-tags|offers (no all-tags); ids    -
                          non-empty (<= 500), existing tags or
                          personalized offers respectively.
Decisions                 fallback = an existing fallback offer; >= 1      fallback_must_cover_
                          criterion, each with existing placements and     decision_placements
                          optionSelection.filter = existing collection;
                          orderEvaluationType static|ranking-strategy|
                          scoring-function; the fallback offer must have
                          a representation for every placement used.
Problem bodies            `{type, status, title, detail}` as               -
                          application/problem+json; `type` is
                          `https://ns.adobe.com/aep/errors/DPS-<code>-
                          <status>`; `detail` starts with the field.
List                      limit default 20, 1..100 (else 400 naming        list_default_limit,
                          limit); orderby default `-modified`, comma       list_max_limit
                          list, `-` = descending, id ascending as the
                          final tiebreak, absent values sort lowest;
                          self/next/prev hrefs relative to the DPS base
                          echo orderby, limit, property, start,
                          offer-type.
Cursor                    `start` is opaque (base64url of the last         -
                          item's sort key + id): keyset paging returns
                          every object exactly once even when timestamps
                          are equal. Adobe shows a timestamp; clients
                          must follow the hrefs verbatim.
Filters                   `[!]field[op]value`, ops == != <= >= < > ~,      regex_full_match
                          bare field = present, `!field` = absent, `!`
                          before an expression negates it; repeated or
                          comma-joined = AND (so values cannot contain
                          commas); dot paths walk into lists (any element
                          matches); numbers/booleans compare as such,
                          ISO dates as instants, else strings; `~` must
                          match the whole value (Java String.matches);
                          `!=` is true when the field is absent.
                          Unparseable: 400 naming property.
PATCH                     RFC 6902 via `jsonpatch`, applied to the stored  -
                          representation, all or nothing. Not a
                          non-empty array, unknown op, missing value /
                          from / path, pointer not starting with `/`:
                          400. add/replace/remove/move-from/copy-to on
                          /id /etag /created /modified /schemas
                          /createdBy /lastModifiedBy (or the root): 422
                          (legacy docs: non-editable -> 422); `test` and
                          copy-from may read them (so `test /etag` works
                          as a precondition). Failed `test` or a pointer
                          that does not resolve: 409. A result that fails
                          the kind's validation: 422. Success: 200
                          receipt, etag + 1, modified moves.
DELETE                    200, empty body; then 404. Deleting an object    referential_integrity_
                          that others reference is allowed (Adobe is       on_delete
                          silent; the API doc recommends off) - or 409.
Not emulated              /ranking-formulas, PUT, If-Match, Edge and       -
                          Batch decisioning: 404/405. Paths are matched
                          exactly: `//` or a trailing `/` is 404.
Decisioning headers       Content-Type must be the XDM decision-request    require_xdm_accept,
                          type with its schema (else the gateway's 400     require_request_id
                          BadRequestError body); Accept must list the
                          decision-response type (406); x-request-id
                          required (400).
Decisioning request       Exactly one profile with a non-empty             max_item_count
                          xdm:identityMap; xdm:itemCount integer 1..30
                          (default 1), <= 100 in total; malformed: 400
                          naming the field. Unknown decision, decision
                          not `live`, placement not in its criteria, or
                          no fallback representation: 422 naming the
                          field. Decision start/end dates are not checked.
Decisioning candidates    Approved personalized offers, now within         -
                          selectionConstraint dates, in the collection
                          (offers: ids; any-tags: any tag), with a
                          representation for the placement. A profile
                          constraint other than `none` (offer or
                          criterion) cannot be evaluated here (no PQL,
                          no segments): not eligible. Capping is not
                          tracked (ignored).
Decisioning ranking       Criteria covering the placement by               -
                          rank.priority desc; offers by rank.priority
                          desc, then older `created`, then id (Adobe:
                          random). Take xdm:itemCount. None: xdm:fallback.
                          allowDuplicatePropositions default true; false
                          excludes offers already proposed.
Decisioning answer        xdm:id = the stored id; repo:etag integer;       include_content_
                          content fields (@type, dc:format, dc:language,   by_default
                          xdm:content, xdm:deliveryURL, xdm:linkURL) only
                          with xdm:responseFormat.xdm:includeContent true;
                          the component used is the first whose type is
                          the placement's componentType, else the first;
                          @type: html -> .../decisioning/content-
                          component-html-template, imagelink|text|json ->
                          .../content-component-<type>. Metadata:
                          activity name, option name/characteristics,
                          placement name/channel/componentType as
                          xdm:<key>. xdm:decisionRequestId echoed at the
                          top level; ode:createDate epoch ms; no
                          xdm:score (no ranking formulas).
========================  ===============================================  =========================

Test controls (CONTRACTS.md): `EmulatorServer.inject_fault(method, path_prefix, *, status,
body, headers, times, retry_after, drop_after_commit, delay_seconds)` - the next `times`
matching requests (method `*` = any) get the fault instead of handling (an injected 429
without a body gets `{"error_code":"429050",...}`), or with `drop_after_commit` are handled
and committed and then answered with a Content-Length larger than what is sent before the
connection is closed (httpx: RemoteProtocolError); `.requests` (every request except
`/_emulator/*`), `.revoke_tokens()`, `.tokens_issued`, `.reset()`, `.configure(**changes)`
(until the next reset). Over HTTP: `POST /_emulator/reset`, `POST /_emulator/faults`,
`POST /_emulator/revoke-tokens`, `GET /_emulator/requests`, `GET /_emulator/tokens`,
`GET /_emulator/health`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ORG_ID, EmulatorConfig

if TYPE_CHECKING:
    from .server import EmulatorServer, run_emulator

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_ORG_ID",
    "EmulatorConfig",
    "EmulatorServer",
    "run_emulator",
]


def __getattr__(name: str) -> Any:
    """Import the server (FastAPI, uvicorn) only when asked for: keeps this package cheap."""
    if name in ("EmulatorServer", "run_emulator"):
        from . import server

        return getattr(server, name)
    raise AttributeError(name)
