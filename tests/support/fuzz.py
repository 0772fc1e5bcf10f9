"""Fuzzing the gateway's HTTP API from its OpenAPI document with schemathesis.

Shared by the bounded run in the suite (tests/bot/api/test_fuzz.py) and the deeper
one in bench/fuzz.py. Every operation gets schemathesis's coverage cases (the
schema's boundaries and just past them, missing and unexpected parts), then
Hypothesis-generated requests that follow its schema (positive) and that break it
(negative), once with generated values only and once with the ids of real things (a
fan, an order, a ticket) wherever the operation takes them, so that generated bodies
reach the engine instead of stopping at a 404. Each answer is held to what the
gateway promises every client: no 5xx, and every 4xx in the error shape
`{"error": {"code", "message", "field"?}}`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case

KEEP_EXAMPLES = 20  # failures kept per kind in a report

Headers = Callable[[str], dict[str, str]]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@dataclass
class FuzzReport:
    """What a run sent and what came back."""

    requests: int = 0
    seconds: float = 0.0
    operations: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    bad_error_shapes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 1),
            "operations": self.operations,
            "status_codes": {str(code): n for code, n in sorted(self.statuses.items())},
            "server_errors": sum(n for code, n in self.statuses.items() if code >= 500),
            "server_error_examples": self.server_errors,
            "bad_error_shapes": self.bad_error_shapes,
        }


def error_shape_problem(response: Response | requests.Response) -> str | None:
    """What is wrong with an error answer's body; None when it is in the error shape."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return "not JSON"
    error = body.get("error") if isinstance(body, dict) and len(body) == 1 else None
    if not isinstance(error, dict):
        return "no single `error` object"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return "`code` and `message` must be strings"
    if set(error) - {"code", "message", "field"}:
        return f"unexpected keys {sorted(set(error) - {'code', 'message', 'field'})}"
    if "field" in error and not isinstance(error["field"], str):
        return "`field` must be a string"
    return None


def _describe(response: Response) -> str:
    request = response.request
    body = request.body if isinstance(request.body, bytes) else str(request.body or "")
    sent = body[:300] if isinstance(body, str) else body[:300].decode("utf-8", "replace")
    answer = response.content[:300].decode("utf-8", "replace")
    return f"{request.method} {request.url} {sent!r} -> {response.status_code} {answer}"


def fuzz(
    base_url: str,
    headers: Headers,
    *,
    examples: int,
    known: Mapping[str, object] | None = None,
    skip: Callable[[str], bool] = lambda _label: False,
    derandomize: bool = False,
    timeout_s: float = 30,
) -> FuzzReport:
    """Fuzz every operation of the gateway at `base_url`; `examples` per operation and mode.

    `headers(path)` gives the credentials for a path; `known` maps parameter names to
    real values for the second pass; `skip(label)` leaves an operation out ("GET /x").
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    report = FuzzReport()
    started = time.monotonic()
    session = requests.Session()

    def send(case: Case[Any]) -> None:
        response = case.call(
            base_url=base_url,
            session=session,
            headers=headers(case.operation.path),
            timeout=timeout_s,
        )
        report.requests += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            if len(report.server_errors) < KEEP_EXAMPLES:
                report.server_errors.append(_describe(response))
        elif response.status_code >= 400:
            problem = error_shape_problem(response)
            if problem and len(report.bad_error_shapes) < KEEP_EXAMPLES:
                report.bad_error_shapes.append(f"{problem}: {_describe(response)}")

    run_settings = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every answer is recorded
        suppress_health_check=list(HealthCheck),
    )
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the gateway's own schema is invalid: that is a failure too
        operation = result.ok()
        if skip(operation.label):
            continue
        report.operations.append(operation.label)
        fixed_path = {
            p.name: known[p.name] for p in operation.path_parameters if known and p.name in known
        }
        fixed_query = {p.name: known[p.name] for p in operation.query if known and p.name in known}
        passes: list[tuple[dict[str, object], dict[str, object]]] = [({}, {})]
        if fixed_path or fixed_query:
            passes.append((fixed_path, fixed_query))
        # Coverage: a fixed set per operation, the schema's boundaries and just past them.
        coverage = schema.config.generation_for(operation=operation, phase="coverage")
        for case in schema.iter_coverage_cases(
            operation, generation_modes=list(MODES), generation_config=coverage
        ):
            send(case)
        inputs = (operation.path_parameters, operation.query, operation.headers, operation.body)
        has_input = any(len(part) for part in inputs)
        for mode in MODES if has_input else MODES[:1]:  # nothing to break without input
            for path_parameters, query in passes:
                strategy = operation.as_strategy(
                    generation_mode=mode,
                    path_parameters=path_parameters or None,
                    query=query or None,
                )
                # A body whose fields may all be anything has no wrong value to send.
                with contextlib.suppress(Unsatisfiable):
                    run_settings(given(strategy)(lambda case: send(case)))()
    report.seconds = time.monotonic() - started
    return report
