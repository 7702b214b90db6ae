"""The People pages (Platform admins): users and teams, their lists, forms and actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from portal.audit.actor import Actor
from portal.audit.services import audit_record
from portal.form_errors import add_service_errors

from . import rules, services
from .forms import GuardedPasswordChangeForm, TeamForm, UserCreateForm, UserEditForm
from .models import Team
from .selectors import PEOPLE_LISTS
from .tables import TABLES


def _list_page(request: HttpRequest, table: str) -> HttpResponse:
    queryset, filterset = PEOPLE_LISTS[table](by=request.user, filters=request.GET)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, f"accounts/{table}_list.html",
                  {"page": page, "filter": filterset, "query": query.urlencode(), "table": table})


@login_required
def user_index(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "users")


@login_required
def team_index(request: HttpRequest) -> HttpResponse:
    return _list_page(request, "teams")


@login_required
def people_export(request: HttpRequest, table: str) -> HttpResponse:
    if table not in PEOPLE_LISTS:
        raise Http404("No such list.")
    queryset, _ = PEOPLE_LISTS[table](by=request.user, filters=request.GET)
    return TABLES[table].download(queryset)


def _credentials_page(request: HttpRequest, user, creds: services.Credentials, title: str) -> HttpResponse:
    # Rendered in the POST's response, never redirected to: the password must not travel in a cookie or URL.
    link = request.build_absolute_uri(creds.set_password_path) if creds.set_password_path else ""
    response = render(request, "accounts/credentials.html",
                      {"person": user, "password": creds.password, "link": link, "title": title})
    response["Cache-Control"] = "no-store"
    return response


@login_required
def user_new(request: HttpRequest) -> HttpResponse:
    rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, creds = services.user_create(
                actor=Actor.from_request(request), by=request.user, username=data["username"], email=data["email"],
                first_name=data["first_name"], last_name=data["last_name"], role_names=data["roles"],
                teams=data["teams"], credentials=data["credentials"])
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            return _credentials_page(request, user, creds, f"User {user.username} created")
    return render(request, "accounts/user_form.html", {"form": form, "title": "New user"})


@login_required
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
    person = get_object_or_404(get_user_model(), pk=user_id)
    initial = {"email": person.email, "first_name": person.first_name, "last_name": person.last_name,
               "roles": list(person.groups.values_list("name", flat=True)), "teams": list(person.teams.all())}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_update(actor=Actor.from_request(request), by=request.user, user=person,
                                 email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
                                 role_names=data["roles"], teams=data["teams"])
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"User {person.username} saved.")
            return redirect("people-user", user_id=person.pk)
    return render(request, "accounts/user_detail.html", {"person": person, "form": form})


def _user_action(request: HttpRequest, user_id: int, service, done: str) -> HttpResponse:
    rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
    person = get_object_or_404(get_user_model(), pk=user_id)
    try:
        service(actor=Actor.from_request(request), by=request.user, user=person)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, f"User {person.username} {done}.")
    return redirect("people-user", user_id=person.pk)


@login_required
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, services.user_deactivate, "deactivated: they can no longer sign in")


@login_required
@require_POST
def user_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _user_action(request, user_id, services.user_reactivate, "reactivated")


@login_required
@require_POST
def user_password_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
    person = get_object_or_404(get_user_model(), pk=user_id)
    method = request.POST.get("credentials", services.PASSWORD)
    try:
        creds = services.user_password_reset(actor=Actor.from_request(request), by=request.user, user=person,
                                             credentials=method)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
        return redirect("people-user", user_id=person.pk)
    return _credentials_page(request, person, creds, f"New credentials for {person.username}")


@login_required
def team_edit(request: HttpRequest, team_id: int | None = None) -> HttpResponse:
    rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
    team = get_object_or_404(Team, pk=team_id) if team_id else None
    initial = {"slug": team.slug, "name": team.name, "members": list(team.members.all())} if team else None
    form = TeamForm(request.POST or None, initial=initial, editing=team is not None)
    if request.method == "POST" and form.is_valid():
        data, actor = form.cleaned_data, Actor.from_request(request)
        try:
            if team is None:
                team = services.team_create(actor=actor, by=request.user, slug=data["slug"], name=data["name"],
                                            members=data["members"])
            else:
                services.team_update(actor=actor, by=request.user, team=team, name=data["name"],
                                     members=data["members"])
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Team {team.name} saved.")
            return redirect("people-teams")
    return render(request, "accounts/team_form.html", {
        "form": form, "team": team, "title": f"Edit team {team.name}" if team else "New team"})


# --- a person's own password: the set-password link and the change form ------------------------------------------


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """Where a set-password link lands (Django's token check: the link dies once the password is set)."""

    template_name = "registration/password_set.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(actor=Actor.for_user(self.user, request_id=getattr(self.request, "request_id", None)),
                     action="user.password_set", obj=self.user)
        messages.success(self.request, "Password set. Sign in with it.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("dashboard")
    form_class = GuardedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        audit_record(actor=Actor.from_request(self.request), action="user.password_change", obj=self.request.user)
        messages.success(self.request, "Password changed.")
        return response
