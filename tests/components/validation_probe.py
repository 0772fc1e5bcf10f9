"""Exercise `components.validation` inside the Rasa environment (.venv-rasa, Python 3.10).

    .venv-rasa/bin/python tests/components/validation_probe.py

`test_validation.py` runs this and asserts on the JSON it prints: for answers of the
action server, valid and not, Rasa's own check and the installed one agree (same
outcome, same message), and the installed one checks the schema and builds its
validator once however many answers it checks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import jsonschema
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from components import validation

ANSWERS: dict[str, Any] = {
    "slots and a response": {
        "events": [{"event": "slot", "name": "hold_id", "value": "H1", "timestamp": None}],
        "responses": [{"response": "utter_seats_held", "seats": "W1-I-20"}],
    },
    "a form ending": {"events": [{"event": "active_loop", "name": None}], "responses": []},
    "empty": {},
    "an unknown event": {"events": [{"event": "teleport"}]},
    "responses not a list": {"events": [], "responses": {"text": "hi"}},
    "a slot without a name": {"events": [{"event": "slot", "value": 1}]},
}


def outcome(action: RemoteAction, answer: Any) -> dict[str, Any]:
    try:
        return {"valid": action._validate_action_result(answer)}
    except ValidationError as error:
        return {"valid": False, "message": error.message}


def main() -> None:
    action = RemoteAction("action_probe", None)
    stock = {name: outcome(action, answer) for name, answer in ANSWERS.items()}
    built = {"schema checks": 0}
    cls = jsonschema.validators.validator_for(RemoteAction.action_response_format_spec())
    original = cls.check_schema

    def counting(schema: Any, *args: Any, **kwargs: Any) -> None:
        built["schema checks"] += 1
        original(schema, *args, **kwargs)

    cls.check_schema = counting  # type: ignore[method-assign]
    validation.install()
    installed = {}
    for _ in range(50):
        installed = {name: outcome(action, answer) for name, answer in ANSWERS.items()}
    print(json.dumps({"stock": stock, "installed": installed, **built}))


main()
