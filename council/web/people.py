"""A council's member units, people and roles, and email invitations — without the admin.

Thin, like every page: find what the person may see (404 otherwise), refuse a change to
anyone but a secretary (403 page), call one service, redirect with a message. The
invitation link (:func:`invitation_link`) is the one page here that needs no sign-in:
the token in its address is the credential.
"""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from council.errors import Forbidden, Invalid, NotFound, ServiceError
from council.models import Council
from members import invitations, permissions, services
from members.models import Invitation, MemberUnit, Role

from .pages import act, refused, visible

log = logging.getLogger("quorum.invitations")


def _council(request: HttpRequest, slug: str) -> tuple[Council, permissions.Access]:
    return visible(request, Council.objects.all(), lambda c: c.pk, slug=slug)


def _only_secretaries(request: HttpRequest) -> HttpResponse:
    return refused(request, Forbidden(_("Only the council's secretaries may do this.")))


def _form_errors(form: forms.BaseForm) -> None:
    raise Invalid({k: [str(m) for m in v] for k, v in form.errors.items()})


# --- Member units -------------------------------------------------------------------------


class UnitForm(forms.ModelForm):
    class Meta:
        model = MemberUnit
        fields = ["name", "short_name", "voting", "label", "joined_on", "left_on"]
        widgets = {
            "joined_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "left_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "voting": gettext_lazy(
                "Untick for a non-voting participant: listed, never counted nor eligible."
            ),
            "left_on": gettext_lazy(
                "The day the unit leaves: it is not eligible in meetings started from then."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The service decides "today" in the council's calendar when none is given.
        self.fields["joined_on"].required = False

    def validate_unique(self) -> None:
        """The service checks uniqueness (with the council, which this form leaves out)."""


def _units_context(council: Council, access: permissions.Access) -> dict[str, Any]:
    today = timezone.now().astimezone(council.zone).date()
    units = list(council.units.order_by("-voting", "short_name"))
    for unit in units:
        unit.member_today = unit.joined_on <= today and (  # type: ignore[attr-defined]
            unit.left_on is None or unit.left_on > today
        )
    return {"council": council, "access": access, "units": units}


@login_required
def units(request: HttpRequest, slug: str) -> HttpResponse:
    """The council's member units; a secretary adds one here (POST)."""
    council, access = _council(request, slug)
    done = reverse("units", args=[council.slug])
    if request.method == "POST":
        if not access.can_manage:
            return _only_secretaries(request)
        form = UnitForm(request.POST)
        if not form.is_valid():
            return act(request, lambda: _form_errors(form), done=done)
        data = {k: v for k, v in form.cleaned_data.items() if v is not None or k != "joined_on"}
        return act(
            request,
            lambda: services.create_unit(actor=request.user, council=council, **data),
            done=done,
            success=_("The unit is added."),
        )
    context = _units_context(council, access)
    context["form"] = UnitForm(initial={"voting": True})
    return render(request, "council/units.html", context)


@login_required
def unit_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One unit: its membership and delegates; a secretary edits it here (POST)."""
    council, access = _council(request, slug)
    unit = MemberUnit.objects.filter(council=council, pk=pk).first()
    if unit is None:
        raise Http404
    done = reverse("unit", args=[council.slug, unit.pk])
    if request.method == "POST":
        if not access.can_manage:
            return _only_secretaries(request)
        form = UnitForm(request.POST, instance=MemberUnit.objects.get(pk=unit.pk))
        if not form.is_valid():
            return act(request, lambda: _form_errors(form), done=done)
        fields = dict(form.cleaned_data)
        if fields.get("joined_on") is None:
            fields.pop("joined_on", None)
        return act(
            request,
            lambda: services.update_unit(actor=request.user, unit=unit, **fields),
            done=done,
            success=_("The unit is saved."),
        )
    delegates = Role.objects.filter(unit=unit, role=Role.Kind.DELEGATE).select_related("user")
    return render(
        request,
        "council/unit.html",
        {
            "council": council,
            "access": access,
            "unit": unit,
            "delegates": delegates,
            "mine": access.represents(unit),
            "form": UnitForm(instance=unit) if access.can_manage else None,
        },
    )


# --- People and roles ---------------------------------------------------------------------


def _role_choices() -> list[tuple[str, Any]]:
    return list(Role.Kind.choices)


class _RoleFields(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=_role_choices)
    unit = forms.ModelChoiceField(
        label=gettext_lazy("Unit (for a delegate)"),
        queryset=MemberUnit.objects.none(),
        required=False,
    )

    def __init__(self, *args: Any, council: Council, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only this council's units (the stubs know the field as a plain Field).
        self.fields["unit"].queryset = council.units.order_by("short_name")  # type: ignore[attr-defined]


class GrantForm(_RoleFields):
    person = forms.CharField(label=gettext_lazy("Username or email address"), max_length=254)
    field_order = ["person", "role", "unit"]


class InviteForm(_RoleFields):
    email = forms.EmailField(label=gettext_lazy("Email address"))
    field_order = ["email", "role", "unit"]


def _can_read_people(access: permissions.Access) -> bool:
    return access.can_manage or Role.Kind.AUDITOR in access.roles


@login_required
def people(request: HttpRequest, slug: str) -> HttpResponse:
    """The council's roles and invitations: secretaries and auditors read them."""
    council, access = _council(request, slug)
    if not _can_read_people(access):
        return refused(
            request, Forbidden(_("Only the council's secretaries and auditors see its people."))
        )
    roles = Role.objects.filter(council=council).select_related("user", "unit")
    sent = Invitation.objects.filter(council=council).select_related("unit", "invited_by")
    now = timezone.now()
    rows = [(invitation, invitation.usable(now)) for invitation in sent]
    return render(
        request,
        "council/people.html",
        {
            "council": council,
            "access": access,
            "roles": roles.order_by("role", "unit__short_name", "user__username"),
            "invitations": rows,
            "grant_form": GrantForm(council=council),
            "invite_form": InviteForm(council=council),
        },
    )


def _person(value: str) -> Any:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    found = model.objects.filter(Q(username=value) | Q(email__iexact=value), is_active=True)
    people = list(found[:2])
    if len(people) != 1:
        raise Invalid({"person": [_("No single account has this username or email address.")]})
    return people[0]


@login_required
@require_POST
def role_grant(request: HttpRequest, slug: str) -> HttpResponse:
    council, access = _council(request, slug)
    if not access.can_manage:
        return _only_secretaries(request)
    done = reverse("people", args=[council.slug])
    form = GrantForm(request.POST, council=council)
    if not form.is_valid():
        return act(request, lambda: _form_errors(form), done=done)
    data = form.cleaned_data

    def grant() -> None:
        services.grant_role(
            actor=request.user,
            user=_person(data["person"].strip()),
            council=council,
            role=data["role"],
            unit=data["unit"],
        )

    return act(request, grant, done=done, success=_("The role is granted."))


@login_required
@require_POST
def role_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    role, access = visible(request, Role.objects.all(), lambda r: r.council_id, pk=pk)
    if not access.can_manage:
        return _only_secretaries(request)
    council = Council.objects.get(pk=role.council_id)
    return act(
        request,
        lambda: services.revoke_role(actor=request.user, role=role),
        done=reverse("people", args=[council.slug]),
        success=_("The role is revoked."),
    )


# --- Invitations --------------------------------------------------------------------------


def _email(request: HttpRequest, invitation: Invitation, token: str) -> None:
    """Send the link now that the invitation is committed; a failure is said, not hidden."""
    link = request.build_absolute_uri(reverse("invitation", args=[token]))
    try:
        invitations.send(invitation, token, link, translation.get_language() or "en")
    except Exception:
        log.exception("invitation %s: the email could not be sent", invitation.pk)
        messages.warning(
            request,
            _("The invitation is saved but its email could not be sent: try to resend it."),
        )


@login_required
@require_POST
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    council, access = _council(request, slug)
    if not access.can_manage:
        return _only_secretaries(request)
    done = reverse("people", args=[council.slug])
    form = InviteForm(request.POST, council=council)
    if not form.is_valid():
        return act(request, lambda: _form_errors(form), done=done)
    sent: dict[str, tuple[Invitation, str]] = {}

    def invite_one() -> None:
        sent["it"] = invitations.invite(
            actor=request.user,
            council=council,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            unit=form.cleaned_data["unit"],
        )

    response = act(request, invite_one, done=done, success=_("The invitation is sent."))
    if "it" in sent:
        _email(request, *sent["it"])
    return response


def _pending(request: HttpRequest, slug: str, pk: int) -> tuple[Invitation | None, HttpResponse]:
    council, access = _council(request, slug)
    if not access.can_manage:
        return None, _only_secretaries(request)
    invitation = Invitation.objects.filter(council=council, pk=pk).select_related("council").first()
    if invitation is None:
        raise Http404
    return invitation, HttpResponseRedirect(reverse("people", args=[council.slug]))


@login_required
@require_POST
def invitation_resend(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    invitation, answer = _pending(request, slug, pk)
    if invitation is None:
        return answer
    sent: dict[str, tuple[Invitation, str]] = {}

    def resend() -> None:
        sent["it"] = invitations.resend(actor=request.user, invitation=invitation)

    response = act(
        request,
        resend,
        done=answer["Location"],
        success=_("The invitation is sent again; the earlier link no longer works."),
    )
    if "it" in sent:
        _email(request, *sent["it"])
    return response


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    invitation, answer = _pending(request, slug, pk)
    if invitation is None:
        return answer
    return act(
        request,
        lambda: invitations.revoke(actor=request.user, invitation=invitation),
        done=answer["Location"],
        success=_("The invitation is revoked; its link no longer works."),
    )


class NewAccountForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


def _landing(role: Role) -> str:
    """A delegate lands on their unit's page, anyone else on the council's."""
    council = Council.objects.get(pk=role.council_id)
    if role.unit_id:
        return reverse("unit", args=[council.slug, role.unit_id])
    return reverse("council", args=[council.slug])


def _unusable(request: HttpRequest) -> HttpResponse:
    return render(request, "council/invitation_unusable.html", status=404)


@never_cache
def invitation_link(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: accept (signed in), sign in first, or make an account."""
    invitation = invitations.find(token)
    if invitation is None:
        return _unusable(request)
    existing = invitations.account_for(invitation)
    signed_in = request.user.is_authenticated
    form = NewAccountForm(initial={"username": invitations.suggested_username(invitation.email)})
    if request.method == "POST":
        try:
            if signed_in:
                role = invitations.accept(token=token, user=request.user)
            elif existing is not None:
                return redirect_to_login(request.get_full_path())
            else:
                form = NewAccountForm(request.POST)
                if not form.is_valid():
                    raise Invalid({})
                user, role = invitations.accept_as_new(
                    token=token,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        except invitations.Unusable:
            return _unusable(request)
        except (Forbidden, NotFound) as exc:
            return refused(request, exc)
        except Invalid as exc:
            for field, field_messages in exc.errors.items():
                for message in field_messages:
                    target = {"password": "password1"}.get(field, field)
                    form.add_error(target if target in form.fields else None, message)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            from django.contrib import messages

            messages.success(request, _("Welcome: the role is yours."))
            return HttpResponseRedirect(_landing(role))
    email = getattr(request.user, "email", "") or ""
    mismatch = signed_in and email.lower() != invitation.email.lower()
    return render(
        request,
        "council/invitation.html",
        {
            "invitation": invitation,
            "council": invitation.council,
            "existing": existing is not None,
            "signed_in": signed_in,
            "mismatch": mismatch,
            "form": form,
            "login_url": f"{reverse('login')}?{urlencode({'next': request.path})}",
        },
        status=400 if form.errors else 200,
    )
