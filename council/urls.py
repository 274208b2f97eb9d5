from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from proposals import views as proposal_views

from .http import health
from .web import accounts, people, views
from .web import exports as export_views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("councils/<slug:slug>/", views.council_page, name="council"),
    path("councils/<slug:slug>/meetings/", views.meeting_create, name="meeting-create"),
    path("councils/<slug:slug>/decisions/", proposal_views.register, name="register"),
    path("councils/<slug:slug>/units/", people.units, name="units"),
    path("councils/<slug:slug>/units/<int:pk>/", people.unit_page, name="unit"),
    path("councils/<slug:slug>/people/", people.people, name="people"),
    path("councils/<slug:slug>/people/grant/", people.role_grant, name="role-grant"),
    path("councils/<slug:slug>/invitations/", people.invite, name="invite"),
    path(
        "councils/<slug:slug>/invitations/<int:pk>/resend/",
        people.invitation_resend,
        name="invitation-resend",
    ),
    path(
        "councils/<slug:slug>/invitations/<int:pk>/revoke/",
        people.invitation_revoke,
        name="invitation-revoke",
    ),
    path("roles/<int:pk>/revoke/", people.role_revoke, name="role-revoke"),
    path("invitations/<str:token>/", people.invitation_link, name="invitation"),
    path("meetings/<int:pk>/", views.meeting_page, name="meeting"),
    path("meetings/<int:pk>/attendance.csv", export_views.attendance_csv, name="attendance-csv"),
    path("tools/verify_export.py", export_views.verifier, name="verifier"),
    path("meetings/<int:pk>/start/", views.meeting_start, name="meeting-start"),
    path("meetings/<int:pk>/adjourn/", views.meeting_adjourn, name="meeting-adjourn"),
    path("meetings/<int:pk>/attendance/<int:unit_id>/", views.attendance, name="attendance"),
    path("meetings/<int:pk>/live/<str:part>/", views.meeting_live, name="meeting-live"),
    path("meetings/<int:pk>/projector/", views.projector, name="projector"),
    path("meetings/<int:pk>/minutes/", views.minutes, name="minutes"),
    path("meetings/<int:pk>/minutes.pdf", views.minutes_pdf, name="minutes-pdf"),
    path("meetings/<int:pk>/proposals/", proposal_views.proposal_create, name="proposal-create"),
    path("proposals/<int:pk>/edit/", proposal_views.proposal_edit, name="proposal-edit"),
    path("proposals/<int:pk>/vote/", proposal_views.ballot_page, name="ballot-page"),
    path("proposals/<int:pk>/move/", proposal_views.proposal_move, name="proposal-move"),
    path(
        "proposals/<int:pk>/withdraw/", proposal_views.proposal_withdraw, name="proposal-withdraw"
    ),
    path("proposals/<int:pk>/open/", proposal_views.proposal_open, name="proposal-open"),
    path("proposals/<int:pk>/close/", proposal_views.proposal_close, name="proposal-close"),
    path("proposals/<int:pk>/ballots/<int:unit_id>/", proposal_views.ballot, name="ballot"),
    path("proposals/<int:pk>/show-of-hands/", proposal_views.show_of_hands, name="show-of-hands"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", accounts.tokens, name="tokens"),
    path("accounts/tokens/new/", accounts.token_create, name="token-create"),
    path("accounts/tokens/<int:pk>/revoke/", accounts.token_revoke, name="token-revoke"),
    # Before Django's own: the switch also keeps the language for the person's emails.
    path("i18n/setlang/", accounts.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("council.api.urls")),
]

handler400 = "council.http.handlers.api_bad_request"
handler404 = "council.http.handlers.api_not_found"
handler500 = "council.http.handlers.api_server_error"
