from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor

from .models import Environment
from .selectors import environment_list
from .serializers import EnvironmentCreateSerializer, EnvironmentSerializer
from .services import environment_create


@extend_schema_view(
    list=extend_schema(summary="List environments you may see",
                       responses={200: EnvironmentSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One environment", responses={200: EnvironmentSerializer, **ERROR_RESPONSES}),
    create=extend_schema(summary="Create an environment (starts its first rollout)",
                         request=EnvironmentCreateSerializer,
                         responses={201: EnvironmentSerializer, **ERROR_RESPONSES}),
)
class EnvironmentViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = EnvironmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Environment.objects.none()
        return environment_list(user=self.request.user, filters=self.request.query_params)

    def create(self, request, *args, **kwargs):
        data = EnvironmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        environment = environment_create(actor=Actor.from_request(request), user=request.user, **data.validated_data)
        return Response(EnvironmentSerializer(environment).data, status=status.HTTP_201_CREATED)
