"""The catalog API: registries, components, image versions and blueprints (``/api/v1/…``).

Reads are open to every signed-in role; writes go through ``catalog`` services, which check the role
(Platform admins define the catalog; QA/Developers add image versions and refresh them) and audit.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from portal.accounts import authz
from portal.api.parsers import JSONParser
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.quoting import quoted

from .. import documents
from ..api import DocumentSchema, YAMLParser, YAMLRenderer, truthy
from ..serializers import DiffRowSerializer
from . import blueprint_documents
from .filters import BlueprintFilter, ComponentFilter, ImageVersionFilter, RegistryFilter
from .selectors import catalog_list
from .serializers import (
    BlueprintSerializer,
    BlueprintWriteSerializer,
    ComponentSerializer,
    ImageVersionSerializer,
    RegistrySerializer,
    VersionsSyncSerializer,
)
from .services import blueprint_save, component_save, image_version_add, registry_save
from .tables import TABLES
from .version_sync import component_versions_sync

CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **ERROR_RESPONSES}


class CatalogViewSet(viewsets.GenericViewSet):
    authz_rule = staticmethod(authz.catalog_can)
    authz_messages = dict.fromkeys((authz.CHANGE, authz.CREATE), "Only Platform admins change the catalog.")
    """Lists filtered by the catalog's FilterSets (shared with the pages) plus a CSV export of the same rows."""

    table: str = ""

    def get_queryset(self):
        queryset, _ = catalog_list(self.filterset_class)
        return queryset

    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    @extend_schema(summary="Export the filtered list as CSV", filters=True, responses=CSV_RESPONSE)
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        return TABLES[self.table].download(self.filter_queryset(self.get_queryset()))


class ServiceCreateMixin:
    """POST parses with the serializer and saves through the viewset's ``save`` (a catalog service)."""

    def save(self, request, instance=None, partial: bool = False):
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        saved = self.save(request)
        return Response(self.get_serializer(saved).data, status=status.HTTP_201_CREATED)


class ServiceWriteMixin(ServiceCreateMixin, mixins.UpdateModelMixin):
    """…and PUT/PATCH too (``UpdateModelMixin`` supplies ``partial_update``)."""

    def update(self, request, *args, **kwargs):
        saved = self.save(request, self.get_object(), partial=kwargs.get("partial", False))
        return Response(self.get_serializer(saved).data)


def _list_and_get(noun: str, serializer, *, create: str = "", change: str = ""):
    """The schema of a catalog viewset's standard actions (``create``/``change``: their summaries, if any)."""
    schema = {"list": extend_schema(summary=f"List {noun}s", responses={200: serializer(many=True), **ERROR_RESPONSES}),
              "retrieve": extend_schema(summary=f"One {noun}", responses={200: serializer, **ERROR_RESPONSES})}
    if create:
        schema["create"] = extend_schema(summary=create, responses={201: serializer, **ERROR_RESPONSES})
    if change:
        schema["update"] = extend_schema(summary=change, responses={200: serializer, **ERROR_RESPONSES})
        schema["partial_update"] = extend_schema(summary=f"{change}: only the fields sent",
                                                 responses={200: serializer, **ERROR_RESPONSES})
    return schema


@extend_schema_view(**_list_and_get(
    "registry", RegistrySerializer, create="Add a registry (Platform admins); credentials are stored encrypted",
    change="Change a registry (Platform admins)"))
class RegistryViewSet(ServiceWriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, CatalogViewSet):
    """Container registries image versions are synced from. Credentials are write-only and stored encrypted."""

    serializer_class = RegistrySerializer
    filterset_class = RegistryFilter
    table = "registries"

    def save(self, request, instance=None, partial=False):
        data = RegistrySerializer(instance, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = {k: getattr(instance, k) for k in ("name", "kind", "url", "region")} if instance else {}
        fields.update(data.validated_data)
        return registry_save(actor=self.actor(), user=request.user, registry=instance,
                                     name=fields["name"], kind=fields["kind"], url=fields.get("url", ""),
                                     region=fields.get("region", ""), credentials=fields.get("credentials"))


@extend_schema_view(**_list_and_get("component", ComponentSerializer, create="Define a component (Platform admins)",
                                    change="Change a component (Platform admins)"))
class ComponentViewSet(ServiceWriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, CatalogViewSet):
    """Deployable images with their defaults; linked to a registry repository, their versions can be refreshed."""

    serializer_class = ComponentSerializer
    filterset_class = ComponentFilter
    authz_actions = {"refresh_versions": (authz.image_version_can, authz.CREATE,
                                          "Only QA, Developers and Platform admins refresh versions.")}
    table = "components"

    def save(self, request, instance=None, partial=False):
        data = ComponentSerializer(instance, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        name = fields.pop("name", instance.name if instance else "")
        return component_save(actor=self.actor(), user=request.user, component=instance, name=name,
                                      **fields)

    @extend_schema(summary="Refresh versions: sync this component's image versions from its registry",
                   request=None, responses={200: VersionsSyncSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="refresh-versions")
    def refresh_versions(self, request, pk=None):
        changes = component_versions_sync(actor=self.actor(), user=request.user, component=self.get_object())
        return Response(VersionsSyncSerializer(changes).data)


@extend_schema_view(**_list_and_get("image version", ImageVersionSerializer,
                                    create="Add an image version by hand (QA, Developers, Platform admins)"))
class ImageVersionViewSet(ServiceCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, CatalogViewSet):
    """Tags (and digests) of components' images, newest first; discovered by syncs or added by hand."""

    serializer_class = ImageVersionSerializer
    filterset_class = ImageVersionFilter
    authz_rule = staticmethod(authz.image_version_can)
    authz_messages = {authz.CREATE: "Only QA, Developers and Platform admins add image versions."}
    table = "image-versions"

    def save(self, request, instance=None, partial=False):
        data = ImageVersionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return image_version_add(actor=self.actor(), user=request.user, **data.validated_data)


BlueprintPlanSchema = inline_serializer(name="BlueprintPlan", fields={
    "action": serializers.ChoiceField(choices=documents.PLAN_ACTIONS),
    "applied": serializers.BooleanField(), "name": serializers.CharField(),
    "latest_version": serializers.IntegerField(allow_null=True),
    "changes": DiffRowSerializer(many=True), "blueprint": BlueprintSerializer(allow_null=True)})


def _blueprint_plan_data(plan: blueprint_documents.BlueprintPlan) -> dict:
    return {"action": plan.action, "applied": plan.applied, "name": plan.name,
            "latest_version": plan.latest.version if plan.latest else None,
            "changes": DiffRowSerializer(plan.rows, many=True).data,
            "blueprint": BlueprintSerializer(plan.blueprint).data if plan.blueprint else None}


@extend_schema_view(
    **_list_and_get("blueprint version", BlueprintSerializer),
    create=extend_schema(summary="Save a blueprint definition as its next version (Platform admins)",
                         description="201 with the new version; 200 with the latest when the definition is "
                                     "identical to it (nothing is written).", request=BlueprintWriteSerializer,
                         responses={200: BlueprintSerializer, 201: BlueprintSerializer, **ERROR_RESPONSES}),
    update=extend_schema(summary="Edit a blueprint: saves the next version of its name (versions are immutable)",
                         request=BlueprintWriteSerializer,
                         responses={200: BlueprintSerializer, 201: BlueprintSerializer, **ERROR_RESPONSES}),
)
class BlueprintViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, CatalogViewSet):
    """Blueprint versions (immutable). Saving a changed definition makes the next version of its name."""

    serializer_class = BlueprintSerializer
    filterset_class = BlueprintFilter
    table = "blueprints"

    def _save(self, request, name: str | None = None):
        data = BlueprintWriteSerializer(data={**request.data, **({"name": name} if name else {})})
        data.is_valid(raise_exception=True)
        blueprint, created = blueprint_save(actor=self.actor(), user=request.user, **data.validated_data)
        return Response(BlueprintSerializer(blueprint).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def create(self, request, *args, **kwargs):
        return self._save(request)

    def update(self, request, *args, **kwargs):
        return self._save(request, name=self.get_object().name)

    @extend_schema(summary="This blueprint version as a YAML document", responses={200: DocumentSchema,
                                                                                  **ERROR_RESPONSES})
    @action(detail=True, methods=["get"], pagination_class=None, renderer_classes=[YAMLRenderer, JSONRenderer])
    def document(self, request, pk=None):
        return Response(documents.blueprint_document(self.get_object()))

    @extend_schema(
        summary="Apply a Blueprint document: the plan (diff) unless confirmed, then save the next version",
        description="Send the YAML (`Content-Type: application/yaml`, confirm with `?confirm=true`) or JSON "
                    "`{\"document\": \"<yaml>\", \"confirm\": true}`. 200 with the plan (or `unchanged`), 201 when "
                    "a new version was saved.",
        parameters=[OpenApiParameter("confirm", OpenApiTypes.BOOL, description="apply the plan (default false)")],
        request={"application/yaml": DocumentSchema, "application/json": inline_serializer(
            name="ApplyBlueprintRequest", fields={"document": serializers.CharField(),
                                                  "confirm": serializers.BooleanField(default=False)})},
        responses={200: BlueprintPlanSchema, 201: BlueprintPlanSchema, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"], url_path="apply", parser_classes=[YAMLParser, JSONParser])
    def apply_document(self, request):
        body, confirm = request.data, truthy(request.query_params.get("confirm", "false"))
        if isinstance(body, dict) and "document" in body and "kind" not in body:
            confirm = confirm or truthy(body.get("confirm", False))
            body = body["document"]
        document = documents.parse_document(body if isinstance(body, str | dict) else "")
        if document.get("kind") != "Blueprint":
            got = quoted(document.get("kind"))
            raise serializers.ValidationError({"kind": [f"Use kind: Blueprint here (got {got}); "
                                                        "Environment documents go to /api/v1/environments/apply/."]})
        plan = blueprint_documents.apply(document, actor=self.actor(), user=request.user, confirm=confirm)
        return Response(_blueprint_plan_data(plan),
                        status=status.HTTP_201_CREATED if plan.applied else status.HTTP_200_OK)
