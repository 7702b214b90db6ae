from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.schema import ERROR_RESPONSES

from .models import Team
from .serializers import MeSerializer, TeamSerializer


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
