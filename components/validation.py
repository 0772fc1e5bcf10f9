"""Rasa's check of every action server answer, with its validator built once.

Rasa (3.6) checks each response of the action server against a fixed JSON schema with
`jsonschema.validate()` (`RemoteAction._validate_action_result`), which checks the
schema against its metaschema and builds a new validator on every call: under load that
was about 40% of the Rasa server's time. `install()` replaces the method with one that
keeps the same check and the same error (the best match among the errors, with Rasa's
hint appended) but builds the validator once per process; the schema is Rasa's own
`action_response_format_spec()`, read once. `components.server` installs it before Rasa
serves.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema import exceptions
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_HINT = (
    ". Failed to validate Action server response from API, make sure your response from "
    f"the Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


@lru_cache(maxsize=1)
def response_validator() -> Validator:
    """The validator of Rasa's action response schema (the schema checked once)."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator: Validator = cls(schema)
    return validator


def validate_action_result(_action: RemoteAction, result: Dict[Text, Any]) -> bool:
    """What `RemoteAction._validate_action_result` does, with the validator reused."""
    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += _HINT
        raise error
    return True


def install() -> None:
    """Make Rasa's remote actions use the reused validator (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
