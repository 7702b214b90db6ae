from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response

from environments.selectors import environment_list
from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.query_params import id_param

from . import services
from .models import DataServer
from .selectors import copy_sources, data_copy_list, data_store_list
from .serializers import (
    CopySourcesSerializer,
    DataCopyCreateSerializer,
    DataCopySerializer,
    DataServerSerializer,
    DataServerSetSerializer,
    DataStoreSerializer,
)
from .tables import DATA_COPIES

COPY_FILTERS = [OpenApiParameter("state", OpenApiTypes.STR, description="queued, running, verified, failed, "
                                                                         "undoing, undone"),
                OpenApiParameter("environment", OpenApiTypes.STR, description="source or target environment name"),
                OpenApiParameter("target", OpenApiTypes.INT, description="target environment id"),
                OpenApiParameter("team", OpenApiTypes.STR, description="team slug")]


@extend_schema_view(
    list=extend_schema(summary="List data copies you may see", parameters=COPY_FILTERS,
                       responses={200: DataCopySerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One data copy: per-store progress, throughput, verification",
                           responses={200: DataCopySerializer, **ERROR_RESPONSES}),
    create=extend_schema(summary="Copy data between environments (snapshot target, copy, verify)",
                         request=DataCopyCreateSerializer, responses={202: DataCopySerializer, **ERROR_RESPONSES}),
)
class DataCopyViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.data_copy_can)
    authz_actions = {"sources": (authz.data_copy_can, authz.CREATE)}
    authz_messages = {authz.CREATE: "You can copy data only into your own teams' non-production environments.",
                      authz.CHANGE: "You can undo copies only into your own teams' non-production environments."}
    serializer_class = DataCopySerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return data_copy_list(user=None).none()
        return data_copy_list(user=self.request.user, filters=self.request.query_params)

    def create(self, request, *args, **kwargs):
        data = DataCopyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        visible = environment_list(user=request.user)
        values["source"] = get_object_or_404(visible, pk=values["source"].pk)
        values["target"] = get_object_or_404(visible, pk=values["target"].pk)
        copy = services.data_copy_start(actor=Actor.from_request(request), user=request.user, **values)
        return Response(DataCopySerializer(copy).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Undo this copy (the last into its target): restore the pre-copy snapshot", request=None,
                   responses={202: DataCopySerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        copy = services.data_copy_undo(actor=Actor.from_request(request), user=request.user, copy=self.get_object())
        return Response(DataCopySerializer(copy).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Environments you may copy from into a target (the form's \"Copy data from…\" list)",
                   parameters=[OpenApiParameter("target", OpenApiTypes.INT, required=True)],
                   responses={200: CopySourcesSerializer, **ERROR_RESPONSES})
    @action(detail=False, methods=["get"])
    def sources(self, request):
        target_id = id_param(request.query_params, "target", what="the target environment's id")
        if target_id is None:
            raise ValidationError({"target": ["Give the target environment's id: ?target=<id>."]})
        target = get_object_or_404(environment_list(user=request.user), pk=target_id)
        found = copy_sources(user=request.user, target=target)
        return Response(CopySourcesSerializer({
            "target_kinds": found.kinds, "notes": found.notes,
            "sources": [{"id": e.pk, "name": e.name, "stage": e.stage, "team": e.team.slug, "kinds": found.shared[e.pk]}
                        for e in found.sources]}).data)

    @extend_schema(summary="Export the filtered copies as CSV", parameters=COPY_FILTERS,
                   responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES})
    @action(detail=False, methods=["get"])
    def export(self, request):
        return DATA_COPIES.download(self.get_queryset())


@extend_schema_view(
    list=extend_schema(summary="Data stores of the environments you may see (never their passwords)",
                       parameters=[OpenApiParameter("environment", OpenApiTypes.INT)],
                       responses={200: DataStoreSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One data store", responses={200: DataStoreSerializer, **ERROR_RESPONSES}),
)
class DataStoreViewSet(viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.data_store_can)
    serializer_class = DataStoreSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return data_store_list(user=None).none()
        return data_store_list(user=self.request.user, environment_id=id_param(
            self.request.query_params, "environment", what="the environment's id"))


@extend_schema_view(
    list=extend_schema(summary="Shared data servers per cluster (Platform admins)",
                       responses={200: DataServerSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One shared data server", responses={200: DataServerSerializer,
                                                                       **ERROR_RESPONSES}),
    create=extend_schema(summary="Configure a cluster's shared server of one kind (creates or replaces)",
                         request=DataServerSetSerializer, responses={201: DataServerSerializer, **ERROR_RESPONSES}),
)
class DataServerViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.data_server_can)
    authz_messages = dict.fromkeys(authz.ACTIONS, "Only Platform admins see shared data servers.")
    serializer_class = DataServerSerializer
    filter_backends: list = []

    def get_queryset(self):
        if not getattr(self, "swagger_fake_view", False) and not authz.data_server_can(self.request.user, authz.VIEW):
            raise PermissionDenied("Only Platform admins see shared data servers.")
        return DataServer.objects.select_related("cluster")

    def create(self, request, *args, **kwargs):
        data = DataServerSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values["user_name"] = values.pop("user")
        server = services.data_server_set(actor=Actor.from_request(request), user=request.user, **values)
        return Response(DataServerSerializer(server).data, status=status.HTTP_201_CREATED)
