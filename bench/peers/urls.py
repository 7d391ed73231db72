"""Routes of the peer project: the session list and a readiness probe."""

from django.urls import path

from bench.peers import views

urlpatterns = [
    path("sessions/active", views.active_sessions),
    path("ready", views.ready),
]
