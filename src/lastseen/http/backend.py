"""The backend API: server-to-server calls authenticated by a secret key."""

import hmac

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from lastseen import errors
from lastseen.http import wire
from lastseen.http.runtime import Runtime, runtime


def require_secret_key(request: Request) -> None:
    """Check ``Authorization: Bearer sk_…`` against the configured secret key."""
    header = request.headers.get("authorization")
    scheme, _, key = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise errors.ServiceError(
            401,
            "authorization_header_format_invalid",
            "Invalid Authorization header format",
            "Send the secret key as 'Authorization: Bearer sk_…'.",
        )

    expected = runtime(request).settings.secret_key
    if expected is None or not hmac.compare_digest(key.strip().encode(), expected.encode()):
        raise errors.ServiceError(401, "clerk_key_invalid", "Secret key invalid", "")


router = APIRouter(prefix="/v1", tags=["backend"], dependencies=[Depends(require_secret_key)])


class CreateUser(BaseModel):
    """Clerk's create-user body, limited to what lastseen stores."""

    model_config = ConfigDict(extra="ignore")

    email_address: list[str] = Field(default_factory=list, max_length=1)
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    external_id: str | None = Field(default=None, max_length=255)
    first_name: str | None = Field(default=None, max_length=255)
    last_name: str | None = Field(default=None, max_length=255)


@router.post("/users", summary="Create a user")
async def create_user(body: CreateUser, request: Request) -> Response:
    rt: Runtime = runtime(request)
    user = await run_in_threadpool(
        rt.accounts.create_user,
        password=body.password,
        email_address=body.email_address[0] if body.email_address else None,
        username=body.username,
        external_id=body.external_id,
        first_name=body.first_name,
        last_name=body.last_name,
    )
    return JSONResponse(wire.user_json(user))
