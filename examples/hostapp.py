"""A host app that signs people in through lastseen and shows who is signed in.

Start lastseen with a secret key, then this app on another port:

    LASTSEEN_SECRET_KEY=sk_test_example lastseen serve --demo
    LASTSEEN_SECRET_KEY=sk_test_example uvicorn examples.hostapp:app --port 8001
"""

import os
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lastseen.client import APIError, AsyncClient
from lastseen.integrations.asgi import Auth, LastseenMiddleware, require_session

LASTSEEN_URL = os.environ.get("LASTSEEN_URL", "http://127.0.0.1:8000")

app = FastAPI()
app.add_middleware(
    LastseenMiddleware,
    api_url=LASTSEEN_URL,
    secret_key=os.environ["LASTSEEN_SECRET_KEY"],
    check_revocation=True,
    redis_url=os.environ.get("LASTSEEN_REDIS_URL"),  # unset: poll lastseen twice a second
)

SIGN_IN_FORM = """<form method="post" action="/sign-in">
<input name="identifier" placeholder="Email"> <input name="password" type="password">
<button>Sign in</button></form>"""


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> str:
    auth: Auth = request.state.auth
    if not auth.is_signed_in:
        return f"<p>Signed out ({auth.reason}).</p>{SIGN_IN_FORM}"
    return (
        f"<p>Signed in as {auth.user_id}, session {auth.session_id}.</p>"
        f'<p><a href="{LASTSEEN_URL}/account/devices">See where you are signed in</a></p>'
    )


@app.post("/sign-in", response_model=None)
async def sign_in(request: Request) -> RedirectResponse | HTMLResponse:
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    # lastseen records this browser's user agent; for its address, list this app in
    # lastseen's LASTSEEN_TRUSTED_PROXIES and forward X-Forwarded-For.
    browser = {"user-agent": request.headers.get("user-agent", "")}
    async with AsyncClient(LASTSEEN_URL, headers=browser) as lastseen:
        try:
            await lastseen.sign_in(form.get("identifier", ""), form.get("password", ""))
        except APIError as exc:
            return HTMLResponse(f"<p>{exc.long_message}</p>{SIGN_IN_FORM}", exc.status_code)
        token = await lastseen.get_token()
    # A real app refreshes this 60-second token before it expires, as Clerk's browser SDK does.
    response = RedirectResponse("/", status_code=303)
    response.set_cookie("__session", token, httponly=True, samesite="lax")
    return response


@app.get("/protected")
def protected(auth: Annotated[Auth, Depends(require_session)]) -> dict[str, str | None]:
    return {"user_id": auth.user_id, "session_id": auth.session_id}
