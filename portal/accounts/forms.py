"""Forms of the People pages: they parse input; the services validate business rules and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest

from . import roles
from .models import Team
from .services import LINK, PASSWORD

ROLE_CHOICES = [(r, r) for r in roles.ALL_ROLES]
CREDENTIAL_CHOICES = [(PASSWORD, "Generate a one-time password (shown once, here)"),
                      (LINK, "Make a set-password link (the user picks a password)")]


class UserEditForm(forms.Form):
    email = forms.EmailField(required=False, label="E-mail")
    first_name = forms.CharField(required=False, max_length=150, label="First name")
    last_name = forms.CharField(required=False, max_length=150, label="Last name")
    roles = forms.MultipleChoiceField(choices=ROLE_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
                                      label="Roles")
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.all(), required=False,
                                           widget=forms.CheckboxSelectMultiple, label="Teams")


class UserCreateForm(UserEditForm):
    # Checked by the service (one rule, one message for the page and the API); only the length here.
    username = forms.CharField(max_length=150, label="Username")
    credentials = forms.ChoiceField(choices=CREDENTIAL_CHOICES, initial=PASSWORD, widget=forms.RadioSelect,
                                    label="First sign-in")
    field_order = ["username", "email", "first_name", "last_name", "roles", "teams", "credentials"]


class TeamForm(forms.Form):
    slug = forms.CharField(max_length=63, label="Slug", help_text="Lowercase letters, digits and hyphens; "
                                                                  "fixed once the team exists.")
    name = forms.CharField(max_length=100, label="Name")
    members = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.order_by("username"), required=False,
        widget=forms.CheckboxSelectMultiple, label="Members")

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["slug"].disabled = True




class GuardedPasswordChangeForm(PasswordChangeForm):
    """Django's change form, whose current-password check counts toward the sign-in lockout.

    Django checks it with ``check_password``, which nothing counts: a borrowed session could guess
    the password without limit. Through ``authenticate`` with the request, axes counts each wrong
    guess per account and address, and refuses (the lockout page) once the limit is reached.
    """

    def __init__(self, user: Any, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        if authenticate(self.request, username=self.user.get_username(), password=old_password) is None:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
