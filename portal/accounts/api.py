from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor

from .models import Team
from .serializers import MeSerializer, TeamSerializer
from .tokens import api_token_create


class TokenThrottle(AnonRateThrottle):
    rate = "20/min"  # password guessing through the token endpoint


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
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, key = api_token_create(actor=Actor.from_request(request, user=user), user=user,
                                      name=str(request.data.get("name") or "api"))
        return Response({"token": key, "name": token.name}, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(summary="The signed-in user, with roles and teams", responses={200: MeSerializer, **ERROR_RESPONSES})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


@extend_schema_view(
    list=extend_schema(summary="List teams", responses={200: TeamSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One team", responses={200: TeamSerializer, **ERROR_RESPONSES}),
)
class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    filterset_fields = ["slug"]
