"""Log history in CloudWatch Logs, as the clusters' fluent-bit ships it.

Naming contract with the ``aws-eks`` blueprint's fluent-bit configuration (the add-ons side):
log group ``/slipway/<cluster name>/<namespace>``, log stream ``<container name>/<pod name>``.
Our renderer names each component's container after the component, so a component's streams
share the prefix ``<component>/`` and one pod's are ``<component>/<pod>``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from portal import aws
from portal.upstream import ServiceUnavailable

from .history import HistoryEvent, HistoryPage, HistoryQuery, HistoryQueryError, TextQuery

# filter_log_events may return empty pages with a token while it scans; bound the calls per page.
MAX_CALLS_PER_PAGE = 10


def log_group(cluster: str, namespace: str) -> str:
    return f"/slipway/{cluster}/{namespace}"


def log_stream(container: str, pod: str) -> str:
    return f"{container}/{pod}"


def _quoted(term: str) -> str:
    # Every term is quoted: CloudWatch needs quotes around anything not alphanumeric, and a
    # quoted term can hold no double quote, which the query language already forbids.
    return '"' + term.replace('"', "") + '"'


def filter_pattern(text: TextQuery) -> str:
    """The CloudWatch Logs ``filterPattern`` for a parsed text query ("" matches everything)."""
    if text.any_terms:
        return " ".join(f"?{_quoted(t)}" for t in text.any_terms)
    return " ".join([*(_quoted(t) for t in text.all_terms), *(f"-{_quoted(t)}" for t in text.excluded)])


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _message(raw: str) -> str:
    # fluent-bit ships either the bare line or a JSON record whose "log" key holds it.
    if raw.startswith("{"):
        try:
            record = json.loads(raw)
        except ValueError:
            return raw
        if isinstance(record, dict) and isinstance(record.get("log"), str):
            return record["log"].rstrip("\n")
    return raw


class CloudWatchLogHistory:
    name = "cloudwatch"

    def __init__(self, client=None) -> None:
        self.client = client or aws.client("logs")

    def request(self, query: HistoryQuery) -> dict:
        """The filter_log_events arguments for ``query`` (without the page token)."""
        if query.pod and not query.component:
            raise HistoryQueryError("Choose the pod's component too (streams are named <component>/<pod>).")
        kwargs: dict = {"logGroupName": log_group(query.cluster, query.namespace), "interleaved": True}
        if query.pod:
            kwargs["logStreamNames"] = [log_stream(query.component, query.pod)]
        elif query.component:
            kwargs["logStreamNamePrefix"] = f"{query.component}/"
        if query.start:
            kwargs["startTime"] = _millis(query.start)
        if query.end:
            kwargs["endTime"] = _millis(query.end)
        pattern = filter_pattern(query.text)
        if pattern:
            kwargs["filterPattern"] = pattern
        return kwargs

    def search(self, query: HistoryQuery) -> HistoryPage:
        kwargs = self.request(query)
        events: list[HistoryEvent] = []
        token = query.cursor
        for _ in range(MAX_CALLS_PER_PAGE):
            call = {**kwargs, "limit": query.limit - len(events)}
            if token:
                call["nextToken"] = token
            try:
                response = self.client.filter_log_events(**call)
            except aws.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "ResourceNotFoundException":
                    return HistoryPage([], notice=f"No history has been shipped for this environment yet "
                                                  f"(log group {kwargs['logGroupName']} does not exist).",
                                       source=kwargs["logGroupName"])
                if code == "InvalidParameterException":
                    raise HistoryQueryError(exc.response["Error"].get("Message", "Invalid search.")) from exc
                raise ServiceUnavailable(f"CloudWatch Logs refused the search ({code or 'no error code'}); "
                                         "try again, or ask a Platform admin to check its access.") from exc
            except aws.BotoCoreError as exc:  # no credentials, endpoint unreachable, timeouts
                raise ServiceUnavailable(f"CloudWatch Logs cannot be reached ({type(exc).__name__}); try again, "
                                         "or ask a Platform admin to check the AWS configuration.") from exc
            for event in response.get("events", []):
                container, _, pod = event["logStreamName"].partition("/")
                events.append(HistoryEvent(
                    timestamp=datetime.fromtimestamp(event["timestamp"] / 1000, tz=UTC), container=container,
                    pod=pod, message=_message(event["message"]), event_id=event.get("eventId", "")))
            token = response.get("nextToken", "")
            if not token or len(events) >= query.limit:
                break
        return HistoryPage(events, next_cursor=token or "", source=kwargs["logGroupName"])
