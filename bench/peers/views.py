"""The peer's session list as JSON: what each app's own session page shows, per session.

Each app's documented way of describing a device is used: django-user-sessions' ``device``
template filter, and django-qsessions' ``Session.device`` property. Locations are left
out, because both look them up at read time through ``django.contrib.gis.geoip2``, which
needs the geoip2 package. That makes the peers' work smaller than lastseen's, whose list
includes each session's city and country.
"""

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone


def ready(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def active_sessions(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "signed out"}, status=401)

    now = timezone.now()
    current = request.session.session_key
    if settings.PEER == "user_sessions":
        from user_sessions.templatetags.user_sessions import device

        rows = request.user.session_set.filter(expire_date__gt=now).order_by("-last_activity")
        body = [
            {
                "ip": session.ip,
                "user_agent": session.user_agent,
                "device": device(session.user_agent),
                "last_activity": session.last_activity.isoformat(),
                "expire_date": session.expire_date.isoformat(),
                "current": session.session_key == current,
            }
            for session in rows
        ]
    else:
        from qsessions.models import Session

        rows = Session.objects.filter(user=request.user, expire_date__gt=now).order_by(
            "-updated_at"
        )
        body = [
            {
                "ip": session.ip,
                "user_agent": session.user_agent,
                "device": session.device,
                "last_activity": session.updated_at.isoformat(),
                "expire_date": session.expire_date.isoformat(),
                "current": session.session_key == current,
            }
            for session in rows
        ]
    return JsonResponse(body, safe=False)
