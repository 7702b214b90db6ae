from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import get_object_or_404  # a malformed id is a 404, not a ValueError
from rest_framework.response import Response

from portal.accounts import authz
from portal.api.schema import ERROR_RESPONSES
from portal.audit.actor import Actor
from portal.jobs.serializers import JobSerializer

from . import terraform_runs
from .health import cluster_check_health
from .models import Cluster, TerraformRun
from .selectors import cluster_list, cluster_lock, terraform_run_list
from .serializers import (
    ClusterCreateSerializer,
    ClusterRegisterSerializer,
    ClusterSerializer,
    DestroySerializer,
    ForceUnlockResultSerializer,
    ForceUnlockSerializer,
    LockSerializer,
    RunStartSerializer,
    StateAcceptSerializer,
    StateReportSerializer,
    StateRestoreSerializer,
    TerraformRunDetailSerializer,
    TerraformRunSerializer,
)
from .services import cluster_addons_start, cluster_register_existing
from .state_versions import cluster_state_accept, cluster_state_report, cluster_state_restore
from .terraform import TerraformError


def _require_admin(request, what: str) -> None:
    if not authz.cluster_can(request.user, authz.CHANGE):
        raise PermissionDenied(f"Only Platform admins {what}.")


def _valid(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(summary="List clusters", responses={200: ClusterSerializer(many=True), **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One cluster", responses={200: ClusterSerializer, **ERROR_RESPONSES}),
)
class ClusterViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.cluster_can)
    authz_messages = {authz.CREATE: "Only Platform admins can create clusters.",
                      authz.CHANGE: "Only Platform admins change clusters."}
    # Lock and state reports carry Terraform internals: read like Terraform runs.
    authz_actions = {"lock": (authz.terraform_run_can, authz.VIEW), "state": (authz.terraform_run_can, authz.VIEW)}
    serializer_class = ClusterSerializer
    filterset_fields = ["kind", "status", "is_default", "drift_status", "managed_by_terraform"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Cluster.objects.none()
        return cluster_list(user=self.request.user)

    @extend_schema(summary="Register an existing cluster (verified against its API first)",
                   description="Refused with 400 when the credentials cannot be used; `fields.missing_permissions` "
                               "then lists each permission the credentials lack (verb group/resource).",
                   request=ClusterRegisterSerializer, responses={201: ClusterSerializer, **ERROR_RESPONSES})
    @action(detail=False, methods=["post"])
    def register(self, request):
        _require_admin(request, "register clusters")
        data = _valid(ClusterRegisterSerializer, request)
        cluster = cluster_register_existing(actor=Actor.from_request(request), **data)
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Check a cluster's health now", request=None,
                   responses={200: ClusterSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="health-check")
    def health_check(self, request, pk=None):
        _require_admin(request, "check cluster health on demand")
        cluster = cluster_check_health(actor=Actor.from_request(request), cluster=self.get_object())
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(summary="Install the cluster add-ons (a job; follow it at /api/v1/jobs/{id}/)", request=None,
                   responses={202: JobSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def addons(self, request, pk=None):
        job = cluster_addons_start(actor=Actor.from_request(request), user=request.user, cluster=self.get_object())
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
    @extend_schema(summary="Create a cluster with Terraform (Platform admins); starts its first apply run",
                   request=ClusterCreateSerializer, responses={201: TerraformRunSerializer, **ERROR_RESPONSES})
    def create(self, request, *args, **kwargs):
        data = _valid(ClusterCreateSerializer, request)
        run = terraform_runs.cluster_create(actor=Actor.from_request(request), user=request.user, **data)
        return Response(TerraformRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Start a Terraform run: plan only, apply, or drift check (Platform admins)",
                   request=RunStartSerializer, responses={201: TerraformRunSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def runs(self, request, pk=None):
        data = _valid(RunStartSerializer, request)
        run = terraform_runs.terraform_run_start(actor=Actor.from_request(request), user=request.user,
                                               cluster=self.get_object(), action=data["action"])
        return Response(TerraformRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Destroy the cluster: plan -destroy, then approval (Platform admins; type the name)",
                   request=DestroySerializer, responses={201: TerraformRunSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="destroy")
    def destroy_cluster(self, request, pk=None):
        data = _valid(DestroySerializer, request)
        run = terraform_runs.terraform_run_start(actor=Actor.from_request(request), user=request.user,
                                               cluster=self.get_object(), action=TerraformRun.DESTROY,
                                               confirm_name=data["confirm_name"])
        return Response(TerraformRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="The Terraform state lock currently held, if any",
                   responses={200: LockSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["get"])
    def lock(self, request, pk=None):
        held = cluster_lock(self.get_object())
        return Response({"locked": held is not None, "lock": held})

    @extend_schema(summary="Force-unlock a stale Terraform state lock (Platform admins; audited)",
                   request=ForceUnlockSerializer, responses={200: ForceUnlockResultSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="force-unlock")
    def force_unlock(self, request, pk=None):
        data = _valid(ForceUnlockSerializer, request)
        output = terraform_runs.cluster_force_unlock(actor=Actor.from_request(request), user=request.user,
                                                   cluster=self.get_object(), lock_id=data["lock_id"])
        return Response({"released": data["lock_id"], "output": output})

    @extend_schema(summary="The Terraform state: recorded and current lineage/serial, why plans are refused, versions",
                   responses={200: StateReportSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["get"])
    def state(self, request, pk=None):
        return Response(cluster_state_report(self.get_object(), with_versions=True))

    @extend_schema(summary="Restore an earlier S3 version of the Terraform state (Platform admins; audited)",
                   request=StateRestoreSerializer, responses={200: StateReportSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="state/restore")
    def state_restore(self, request, pk=None):
        data, cluster = _valid(StateRestoreSerializer, request), self.get_object()
        try:
            cluster_state_restore(actor=Actor.from_request(request), user=request.user, cluster=cluster, **data)
        except TerraformError as exc:
            raise ValidationError(str(exc)) from exc
        return Response(cluster_state_report(cluster, with_versions=True))

    @extend_schema(summary="Accept the Terraform state as it is now, with a reason (Platform admins; audited)",
                   request=StateAcceptSerializer, responses={200: StateReportSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"], url_path="state/accept")
    def state_accept(self, request, pk=None):
        data, cluster = _valid(StateAcceptSerializer, request), self.get_object()
        cluster_state_accept(actor=Actor.from_request(request), user=request.user, cluster=cluster, **data)
        return Response(cluster_state_report(cluster, with_versions=True))


@extend_schema_view(
    list=extend_schema(summary="List Terraform runs", responses={200: TerraformRunSerializer(many=True),
                                                                 **ERROR_RESPONSES}),
    retrieve=extend_schema(summary="One Terraform run, with its stored (redacted) log",
                           responses={200: TerraformRunDetailSerializer, **ERROR_RESPONSES}),
)
class TerraformRunViewSet(viewsets.ReadOnlyModelViewSet):
    authz_rule = staticmethod(authz.terraform_run_can)
    filterset_fields = ["cluster", "action", "state"]
    ordering_fields = ["created_at"]

    def get_serializer_class(self):
        return TerraformRunDetailSerializer if self.action == "retrieve" else TerraformRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TerraformRun.objects.none()
        return terraform_run_list(user=self.request.user)

    @extend_schema(summary="Approve a plan awaiting approval: applies exactly that plan (Platform admins)",
                   request=None, responses={200: TerraformRunSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        run = terraform_runs.terraform_run_approve(actor=Actor.from_request(request), user=request.user,
                                                 run=get_object_or_404(self.get_queryset(), pk=pk))
        return Response(TerraformRunSerializer(run).data)

    @extend_schema(summary="Discard a plan awaiting approval (Platform admins)", request=None,
                   responses={200: TerraformRunSerializer, **ERROR_RESPONSES})
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        run = terraform_runs.terraform_run_discard(actor=Actor.from_request(request), user=request.user,
                                                 run=get_object_or_404(self.get_queryset(), pk=pk))
        return Response(TerraformRunSerializer(run).data)
