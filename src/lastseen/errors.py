"""The exceptions lastseen raises.

LastseenError
├── ConfigurationError   an invalid setting, named in the message with the fix
├── ServiceError         a use-case rejected a request, with Clerk's error code
└── APIError             the SDK received an error response, with Clerk's error code
"""

from typing import Any


class LastseenError(Exception):
    """The root of every lastseen exception."""


class ConfigurationError(LastseenError):
    """An invalid setting."""


class ServiceError(LastseenError):
    """A use-case rejected a request, in the terms of Clerk's error body."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        long_message: str = "",
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(long_message or message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.long_message = long_message
        self.meta = meta or {}


class APIError(LastseenError):
    """An error response from a lastseen (or Clerk) server, as the SDK received it."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        long_message: str = "",
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status_code} {code}: {long_message or message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.long_message = long_message
        self.errors = errors or []


def session_not_found(session_id: str) -> ServiceError:
    return ServiceError(
        404, "resource_not_found", "Session not found", f"No session was found with id {session_id}"
    )


def invalid_action_for_session(session_id: str, action: str) -> ServiceError:
    return ServiceError(
        400,
        "invalid_action_for_session",
        "Invalid action for user session",
        f"Unable to {action} session {session_id}",
        {"session_id": session_id},
    )


def action_for_session_not_authorized(session_id: str) -> ServiceError:
    return ServiceError(
        401,
        "action_for_session_not_authorized",
        "Unauthorized action for session",
        f"Not authorized to perform requested action on session {session_id}",
        {"session_id": session_id},
    )


def authentication_invalid(reason: str) -> ServiceError:
    return ServiceError(401, "authentication_invalid", "Invalid authentication", reason)


def signed_out(reason: str = "You are signed out.") -> ServiceError:
    return ServiceError(401, "signed_out", "Signed out", reason)


def param_invalid(name: str, reason: str) -> ServiceError:
    return ServiceError(
        422, "form_param_value_invalid", "is invalid", f"{name} {reason}", {"param_name": name}
    )


def param_missing(name: str) -> ServiceError:
    return ServiceError(
        422, "form_param_missing", "is missing", f"{name} must be included.", {"param_name": name}
    )
