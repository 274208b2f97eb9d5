"""The person's own API tokens: list them, make one, revoke one.

A new token's key is shown once. The form posts, the key waits in the session for the
redirected page, which takes it out again (POST-redirect-GET, like every other form);
only its digest is stored with the token. Pages carrying a key are not cached.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from council.http import security
from members import permissions, services
from members.models import ApiToken

from .pages import act

NEW_KEY = "quorum_new_token"


class TokenForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100, required=False)


@never_cache
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    user = permissions.account(request.user)
    return render(
        request,
        "registration/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=user),
            "new_key": request.session.pop(NEW_KEY, None),
            "form": TokenForm(),
        },
    )


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    label = form.cleaned_data["label"] if form.is_valid() else ""
    _token, key = services.issue_token(
        user=permissions.account(request.user),
        session_key=request.session.session_key,
        label=label,
    )
    request.session[NEW_KEY] = key
    security.log_event("token_issued", request)
    return HttpResponseRedirect(reverse("tokens"))


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    response = act(
        request,
        lambda: services.revoke_token(actor=request.user, token_id=pk),
        done=reverse("tokens"),
        success=_("The token is revoked."),
    )
    security.log_event("token_revoked", request, token=pk)
    return response


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also keeps the choice as the language of the
    person's emails (``members.Profile``) when they are signed in."""
    from django.views.i18n import set_language as switch

    response = switch(request)
    if request.method == "POST" and request.user.is_authenticated:
        services.remember_language(
            permissions.account(request.user), request.POST.get("language", "")
        )
    return response
