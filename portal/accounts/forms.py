"""Forms of the People pages: they parse input; the services validate business rules and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

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


