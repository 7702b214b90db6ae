import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.request_context import source_ip

from . import rules, services
from .filters import TeamFilter, UserFilter
from .lockout import SignInLockedOut
from .models import Team
from .selectors import PEOPLE_LISTS, user_list
from .serializers import (
    CredentialsRequestSerializer,
    MeSerializer,
    TeamMembersSerializer,
    TeamWriteSerializer,
    UserCreatedSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from .tables import TABLES
from .tokens import api_token_create

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES}


class TokenThrottle(AnonRateThrottle):
    """A coarse rate per client address on top of the per-account lockout (django-axes)."""

    rate = "20/min"

    def get_ident(self, request) -> str:
        # DRF's own reading believes X-Forwarded-For unless NUM_PROXIES is set; one rule for every reader.
        return source_ip(request) or ""


class ObtainTokenView(APIView):
    """Exchange a username and password for a new API token (shown once)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]

    @extend_schema(summary="Create an API token with username and password", request=AuthTokenSerializer,
                   responses={201: inline_serializer("ApiTokenCreated", {
                       "token": serializers.CharField(), "name": serializers.CharField()}), **ERROR_RESPONSES})
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # authenticate() ran through axes, which flags this request when the account and address are locked.
            if getattr(request, "axes_locked_out", False):
                raise SignInLockedOut()
            raise serializers.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        token, key = api_token_create(actor=Actor.from_request(request, user=user), user=user,
                                      name=str(request.data.get("name") or "api"))
        return Response({"token": key, "name": token.name}, status=status.HTTP_201_CREATED)


class MeView(APIView):
    authz_open = True  # the caller's own profile

    @extend_schema(summary="The signed-in user, with roles and teams", responses={200: MeSerializer, **ERROR_RESPONSES})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class PeopleViewSet(viewsets.GenericViewSet):
    """Shared by the users and teams endpoints: the actor, the CSV export and the service call."""

    authz_rule = staticmethod(authz.people_can)
    authz_messages = dict.fromkeys(authz.ACTIONS, f"Only Platform admins {services.MANAGE_PEOPLE}.")

    table = ""

    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    @extend_schema(summary="Export the filtered list as CSV (Platform admins)", filters=True, responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        queryset, _ = PEOPLE_LISTS[self.table](by=request.user, filters=request.query_params)
        return TABLES[self.table].download(queryset)


def _credentials_body(request, user, creds: services.Credentials) -> dict:
    link = request.build_absolute_uri(creds.set_password_path) if creds.set_password_path else ""
    return {**UserSerializer(user).data,
            "credentials": {"one_time_password": creds.password, "set_password_url": link}}


@extend_schema_view(
    list=extend_schema(summary="List users (Platform admins)", responses={200: UserSerializer(many=True),
                                                                          **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One user (Platform admins)", responses={200: UserSerializer, **ERROR_RESPONSES}),
)
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PeopleViewSet):
    """Users, their roles and teams. There is no DELETE: deactivate keeps the audit trail's actors whole."""

    serializer_class = UserSerializer
    filterset_class = UserFilter
    ordering_fields = ["username", "date_joined", "last_login"]
    table = "users"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return get_user_model().objects.none()
        queryset, _ = user_list(by=self.request.user)
        return queryset

    @extend_schema(summary="Create a user; the response carries a one-time password or set-password link, once",
                   request=UserCreateSerializer, responses={201: UserCreatedSerializer, **ERROR_RESPONSES})
    def create(self, request):
        rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
        data = _valid(UserCreateSerializer, request.data)
        user, creds = services.user_create(
            actor=self.actor(), by=request.user, username=data["username"], email=data.get("email", ""),
            first_name=data.get("first_name", ""), last_name=data.get("last_name", ""),
            role_names=data.get("roles", ()), teams=data.get("teams", ()), credentials=data["credentials"])
        return Response(_credentials_body(request, user, creds), status=status.HTTP_201_CREATED,
                        headers={"Cache-Control": "no-store"})

    @extend_schema(summary="Change a user's profile, roles (exactly the given list) or teams (exactly the given "
                           "slugs)", request=UserUpdateSerializer, responses={200: UserSerializer, **ERROR_RESPONSES})
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = _valid(UserUpdateSerializer, request.data)
        services.user_update(actor=self.actor(), by=request.user, user=user, email=data.get("email"),
                             first_name=data.get("first_name"), last_name=data.get("last_name"),
                             role_names=data.get("roles"), teams=data.get("teams"))
        return Response(UserSerializer(user).data)

    @extend_schema(summary="Deactivate a user (they can no longer sign in or use API tokens)", request=None,
                   responses={200: UserSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        user = services.user_deactivate(actor=self.actor(), by=request.user, user=self.get_object())
        return Response(UserSerializer(user).data)

    @extend_schema(summary="Reactivate a user", request=None, responses={200: UserSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        user = services.user_reactivate(actor=self.actor(), by=request.user, user=self.get_object())
        return Response(UserSerializer(user).data)

    @extend_schema(summary="Replace a user's password with a one-time password or a set-password link (shown once)",
                   request=CredentialsRequestSerializer, responses={200: UserCreatedSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request, pk=None):
        user = self.get_object()
        data = _valid(CredentialsRequestSerializer, request.data)
        creds = services.user_password_reset(actor=self.actor(), by=request.user, user=user,
                                             credentials=data["credentials"])
        return Response(_credentials_body(request, user, creds), headers={"Cache-Control": "no-store"})


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TeamApiFilter(TeamFilter):
    slug = django_filters.CharFilter(field_name="slug", label="Slug")

    class Meta(TeamFilter.Meta):
        fields = [*TeamFilter.Meta.fields, "slug"]


@extend_schema_view(
    list=extend_schema(summary="List teams", responses={200: TeamMembersSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One team", responses={200: TeamMembersSerializer, **ERROR_RESPONSES}),
)
class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PeopleViewSet):
    """Teams: every signed-in user reads them; Platform admins create them and set their members."""

    authz_rule = staticmethod(authz.team_can)
    authz_actions = {"export": (authz.people_can, authz.VIEW, f"Only Platform admins {services.MANAGE_PEOPLE}.")}
    queryset = Team.objects.prefetch_related("members")
    serializer_class = TeamMembersSerializer
    filterset_class = TeamApiFilter
    table = "teams"

    @extend_schema(summary="Create a team (Platform admins)", request=TeamWriteSerializer,
                   responses={201: TeamMembersSerializer, **ERROR_RESPONSES})
    def create(self, request):
        rules.require_platform_admin(request.user, services.MANAGE_PEOPLE)
        data = _valid(TeamWriteSerializer, request.data)
        team = services.team_create(actor=self.actor(), by=request.user, slug=data["slug"], name=data["name"],
                                    members=data.get("members", ()))
        return Response(TeamMembersSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Rename a team or set exactly its members (Platform admins; the slug is fixed)",
                   request=TeamWriteSerializer(partial=True), responses={200: TeamMembersSerializer,
                                                                        **ERROR_RESPONSES})
    def partial_update(self, request, pk=None):
        team = self.get_object()
        serializer = TeamWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "slug" in data and data["slug"] != team.slug:
            raise ValidationError({"slug": ["A team keeps its slug: the audit trail files its events by it."]})
        team = services.team_update(actor=self.actor(), by=request.user, team=team, name=data.get("name"),
                                    members=data.get("members"))
        return Response(TeamMembersSerializer(team).data)
