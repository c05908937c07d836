"""Azure Resource Graph: the bulk inventory of many subscriptions in 1,000-row pages.

``POST /providers/Microsoft.ResourceGraph/resources`` (api-version 2022-10-01)
with ``$top`` / ``$skipToken`` paging. Throttling is per user: when
``x-ms-user-quota-remaining`` reaches 0 the next query waits for
``x-ms-user-quota-resets-after`` (``hh:mm:ss``), capped like ``Retry-After``.

The answer is checked against its own bookkeeping. ``QueryResponse`` in
azure-rest-api-specs ``specification/resourcegraph/resource-manager/
Microsoft.ResourceGraph/stable/2022-10-01/resourcegraph.json`` (read at commit
4d1674741abf4fb22ed0cd7dcb967332153f3d8a) requires ``totalRecords`` ("Number of
total records matching the query"), ``count`` ("Number of records returned in
the current response. In the case of paging, this is the number of records in
the current page"), ``resultTruncated`` (``"true"``/``"false"``, a string) and
``data``; ``$skipToken`` is optional. ``examples/ResourcesNextPageQuery.json``
shows a page: ``totalRecords`` 386, ``count`` 3, three rows, a ``$skipToken``.
So every page's ``count`` must equal its rows, every page must report the same
``totalRecords``, and the rows received over all pages must add up to it, never
exceed it; every page must say ``resultTruncated`` and say ``"false"`` ("When
resultTruncated is true, the $skipToken property isn't set", Microsoft Learn
governance/resource-graph/concepts/paging-results: a truncated page is not a
page of a whole answer); a ``$skipToken`` seen before is a loop. Anything else
is an incomplete answer (a gap), never a smaller estate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Final

from compliance_checks.live.rest import CollectionError, RestClient, Stats
from compliance_checks.sources.loading import MAX_RESOURCES

API_VERSION: Final = "2022-10-01"
PATH: Final = "/providers/Microsoft.ResourceGraph/resources"
MAX_SUBSCRIPTIONS_PER_QUERY: Final = 1000

# Paging needs ``id`` in the result; ``order by id`` keeps pages stable while the estate changes.
RESOURCES_QUERY: Final = (
    "resources"
    " | project id, name, type, location, kind, sku, identity, tags, zones, plan, extendedLocation, properties"
    " | order by id asc"
)
# Each site's ``config/web`` (TLS floor, FTPS, SCM restrictions: what ``GET site`` and the ``resources`` row leave
# null) in 1,000-row pages instead of one GET per site. Source: MicrosoftDocs/azure-docs
# articles/governance/resource-graph/reference/supported-tables-resources.md at commit
# 00ec1e2ffaf3dae643b5ccfe48e613c9e21f1aae: table ``appserviceresources`` holds ``microsoft.web/sites/config``
# (the ``resources`` table lists ``microsoft.Web/sites`` but no ``sites/config``); earlier versions of the same page
# name the type ``microsoft.web/sites/config/web``. Only ``config/web`` is asked for: no source says which other
# config documents (``authsettingsV2``) the table holds, so those stay per-site reads. Rows carry "the properties
# the resource providers return" (articles/governance/resource-graph/overview.md). A site whose row is missing (the
# table is kept current by change notifications and a periodic full scan, same page) is read per site instead.
SITE_CONFIG_QUERY: Final = (
    "appserviceresources"
    " | where type =~ 'microsoft.web/sites/config' and id endswith '/config/web'"
    " | project id, name, type, location, properties"
    " | order by id asc"
)
RESOURCE_GROUPS_QUERY: Final = (
    "resourcecontainers"
    " | where type =~ 'microsoft.resources/subscriptions/resourcegroups'"
    " | project id, name, type, location, tags, properties"
    " | order by id asc"
)


def parse_duration(text: str) -> float | None:
    """``00:00:05`` -> 5.0; anything else -> None."""
    parts = text.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except ValueError:
        return None
    return hours * 3600 + minutes * 60 + seconds


def quota_wait(headers: Mapping[str, str], cap: float) -> float:
    """Seconds to wait before the next query (0 while quota remains)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    remaining = lowered.get("x-ms-user-quota-remaining")
    if remaining is None or not remaining.strip().isdigit() or int(remaining) > 0:
        return 0.0
    resets = parse_duration(lowered.get("x-ms-user-quota-resets-after", "")) or 1.0
    return min(resets, cap)


def _flag(value: Any) -> bool | None:
    """``resultTruncated``: the spec's string enum ``"true"``/``"false"`` (Learn calls it a Boolean, so a JSON
    boolean is read too); anything else, or nothing, is None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def query(
    rest: RestClient,
    subscriptions: Sequence[str],
    text: str,
    *,
    stats: Stats,
    on_page: Callable[[int], None] = lambda rows: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Every row of ``text`` over ``subscriptions``; raises CollectionError on any incomplete answer."""
    settings = rest.settings
    for start in range(0, len(subscriptions), MAX_SUBSCRIPTIONS_PER_QUERY):
        batch = list(subscriptions[start : start + MAX_SUBSCRIPTIONS_PER_QUERY])
        token: str | None = None
        seen: set[str] = set()
        total: int | None = None
        received = 0
        url = rest.url(PATH)
        for _ in range(settings.max_pages):
            options: dict[str, Any] = {"$top": settings.page_size, "resultFormat": "objectArray"}
            if token:
                options["$skipToken"] = token
            reply = rest.send(
                "POST",
                PATH,
                params={"api-version": API_VERSION},
                body={"subscriptions": batch, "query": text, "options": options},
            )
            rows = reply.body.get("data")
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise CollectionError("POST", url, "Resource Graph answer has no 'data' array of objects")
            count, page_total = _integer(reply.body.get("count")), _integer(reply.body.get("totalRecords"))
            if count is None or page_total is None:
                raise CollectionError("POST", url, "Resource Graph answer lacks a numeric 'count' or 'totalRecords'")
            if count != len(rows):
                raise CollectionError("POST", url, f"Resource Graph page says count {count} but holds {len(rows)} rows")
            if total is not None and page_total != total:
                raise CollectionError(
                    "POST", url, f"Resource Graph totalRecords changed between pages ({total}, then {page_total})"
                )
            if page_total > MAX_RESOURCES or received + len(rows) > MAX_RESOURCES:
                # The same bound as every other source: a tenant (or a hostile answer) this large is refused,
                # never read into memory in part and judged as if complete.
                raise CollectionError(
                    "POST",
                    url,
                    f"Resource Graph reports {page_total} resources, more than the {MAX_RESOURCES} an audit reads",
                )
            truncated = _flag(reply.body.get("resultTruncated"))
            if truncated is None:
                raise CollectionError(
                    "POST",
                    url,
                    "Resource Graph answer lacks 'resultTruncated' ('true' or 'false'), which it must carry",
                )
            if truncated:
                # "When resultTruncated is true, the $skipToken property isn't set" (Microsoft Learn,
                # governance/resource-graph/concepts/paging-results): a truncated page is never part of a whole
                # answer, whether or not it also carries a token.
                raise CollectionError("POST", url, "Resource Graph truncated the result (resultTruncated is true)")
            raw_token = reply.body.get("$skipToken")
            if raw_token is not None and not isinstance(raw_token, str):
                raise CollectionError("POST", url, "Resource Graph $skipToken is not a string")
            token = raw_token or None
            if token is not None and token in seen:
                raise CollectionError("POST", url, "$skipToken repeats an earlier page (a paging loop)")
            total = page_total
            received += len(rows)
            if received > total:
                raise CollectionError(
                    "POST", url, f"Resource Graph reported totalRecords {total} but more rows ({received}) arrived"
                )
            # Rows go to the caller as they come, but the caller keeps none of them unless the query ends well.
            yield from rows
            on_page(len(rows))
            if token is None:
                if received != total:
                    raise CollectionError(
                        "POST", url, f"Resource Graph reported totalRecords {total} but {received} rows arrived"
                    )
                break
            seen.add(token)
            wait = quota_wait(reply.headers, settings.max_retry_after)
            if wait:
                stats.waited(wait)
                sleep(wait)
        else:
            raise CollectionError("POST", url, f"more than {settings.max_pages} pages")
