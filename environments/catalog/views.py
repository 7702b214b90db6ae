"""The catalog pages: components, image versions, blueprints and registries (lists, details, forms)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.accounts import authz
from portal.audit.actor import Actor
from portal.form_errors import add_service_errors

from .. import documents
from ..models import Environment
from ..personal_data import personal_data_normalised
from ..views import document_errors, yaml_download
from . import blueprint_documents
from .filters import BlueprintFilter, ComponentFilter, ImageVersionFilter, RegistryFilter
from .forms import BlueprintForm, ComponentForm, ImageVersionForm, RegistryForm
from .models import Blueprint, Component, Registry
from .selectors import blueprint_personal_data_kept, catalog_list
from .services import blueprint_save, component_save, image_version_add, registry_save
from .tables import TABLES
from .version_sync import component_versions_sync

FILTERS = {"components": ComponentFilter, "image-versions": ImageVersionFilter, "blueprints": BlueprintFilter,
           "registries": RegistryFilter}


def _roles(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {"can_admin": authz.catalog_can(user, authz.CHANGE),
            "can_add_version": authz.image_version_can(user, authz.CREATE)}


def _require_admin(request: HttpRequest) -> None:
    authz.require(authz.catalog_can(request.user, authz.CHANGE), "Only Platform admins change the catalog.")


def _require_version_add(request: HttpRequest) -> None:
    authz.require(authz.image_version_can(request.user, authz.CREATE),
                  "Only QA, Developers and Platform admins add image versions.")


def _refusal(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@login_required
def catalog_index(request: HttpRequest, table: str) -> HttpResponse:
    if table not in FILTERS:
        raise Http404("No such catalog list.")
    queryset, filterset = catalog_list(FILTERS[table], request.GET)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, f"catalog/{table.replace('-', '_')}_list.html", {
        "page": page, "filter": filterset, "query": query.urlencode(), "table": table, **_roles(request)})


@login_required
def catalog_export(request: HttpRequest, table: str) -> HttpResponse:
    if table not in FILTERS:
        raise Http404("No such catalog list.")
    queryset, _ = catalog_list(FILTERS[table], request.GET)
    return TABLES[table].download(queryset)


# --- components ---------------------------------------------------------------------------------------------------


@login_required
def component_detail(request: HttpRequest, component_id: int) -> HttpResponse:
    component = get_object_or_404(Component.objects.select_related("registry"), pk=component_id)
    versions = Paginator(component.versions.all(), 50).get_page(request.GET.get("page"))
    return render(request, "catalog/component_detail.html", {
        "component": component, "page": versions, "version_form": ImageVersionForm(),
        "blueprints": component.blueprints.order_by("name", "-version"), **_roles(request)})


@login_required
def component_edit(request: HttpRequest, component_id: int | None = None) -> HttpResponse:
    _require_admin(request)
    component = get_object_or_404(Component, pk=component_id) if component_id else None
    form = ComponentForm(request.POST or None, instance=component)
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        name = fields.pop("name", None) or component.name
        try:
            saved = component_save(actor=Actor.from_request(request), user=request.user,
                                           component=component, name=name, **fields)
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Component {saved.name} saved.")
            return redirect("catalog-component", component_id=saved.pk)
    return render(request, "catalog/form.html", {
        "form": form, "title": f"Edit {component.name}" if component else "New component",
        "cancel": "catalog-components"})


@login_required
@require_POST
def component_refresh(request: HttpRequest, component_id: int) -> HttpResponse:
    component = get_object_or_404(Component.objects.select_related("registry"), pk=component_id)
    _require_version_add(request)
    try:
        changes = component_versions_sync(actor=Actor.from_request(request), user=request.user, component=component)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _refusal(exc))
    else:
        summary = ", ".join(f"{len(tags)} {what}" for what, tags in changes.items() if tags)
        messages.success(request, f"Versions refreshed from {component.registry}: {summary or 'no change'}.")
    return redirect("catalog-component", component_id=component.pk)


@login_required
@require_POST
def component_version_add(request: HttpRequest, component_id: int) -> HttpResponse:
    component = get_object_or_404(Component, pk=component_id)
    _require_version_add(request)
    form = ImageVersionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the tag (and optionally its digest).")
    else:
        try:
            version = image_version_add(actor=Actor.from_request(request), user=request.user,
                                                component=component, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _refusal(exc))
        else:
            messages.success(request, f"Added {version}.")
    return redirect("catalog-component", component_id=component.pk)


# --- blueprints ---------------------------------------------------------------------------------------------------


@login_required
def blueprint_detail(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = get_object_or_404(Blueprint, pk=blueprint_id)
    return render(request, "catalog/blueprint_detail.html", {
        "blueprint": blueprint, "components": blueprint.components.order_by("name"),
        "versions": Blueprint.objects.filter(name=blueprint.name).order_by("-version"),
        "environments": Environment.objects.filter(blueprint=blueprint).exclude(status=Environment.DESTROYED).count(),
        "yaml": documents.to_yaml(documents.blueprint_document(blueprint)), **_roles(request)})


@login_required
def blueprint_edit(request: HttpRequest, blueprint_id: int | None = None) -> HttpResponse:
    """New blueprint, or edit one: saving a changed definition makes the next version of its name."""
    _require_admin(request)
    base = get_object_or_404(Blueprint, pk=blueprint_id) if blueprint_id else None
    initial = ({"name": base.name, "description": base.description, "components": list(base.components.all()),
                "backing_services": base.backing_services, "stage_overrides": base.stage_overrides} if base else {})
    # What saving would keep, shown as it is: an emptied field then means "nothing classified".
    initial["personal_data"] = personal_data_normalised(blueprint_personal_data_kept(base))
    form = BlueprintForm(request.POST or None, initial=initial)
    if base:
        form.fields["name"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            blueprint, created = blueprint_save(actor=Actor.from_request(request), user=request.user,
                                                        **form.definition())
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {blueprint}." if created else
                             f"Nothing changed: {blueprint} already has this definition.")
            return redirect("catalog-blueprint", blueprint_id=blueprint.pk)
    title = f"New version of {base.name} (from v{base.version})" if base else "New blueprint"
    return render(request, "catalog/form.html", {"form": form, "title": title, "cancel": "catalog-blueprints",
                                                 "note": "Versions are immutable: saving a change makes the next "
                                                         "version; environments keep the one they were built from."
                                                 if base else ""})


@login_required
def blueprint_document(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint = get_object_or_404(Blueprint, pk=blueprint_id)
    filename = f"blueprint-{blueprint.name}-v{blueprint.version}.yaml"
    return yaml_download(documents.blueprint_document(blueprint), filename)


@login_required
def blueprint_import(request: HttpRequest) -> HttpResponse:
    """Paste a Blueprint document, see the plan (diff against the latest version), then confirm."""
    _require_admin(request)
    source = request.POST.get("document", "")
    plan, errors = None, []
    if request.method == "POST":
        try:
            document = documents.parse_document(source)
            if document.get("kind") != "Blueprint":
                raise ValidationError({"kind": ["Use kind: Blueprint here (Environment documents: Environments → "
                                                "Apply YAML)."]})
            plan = blueprint_documents.apply(document, actor=Actor.from_request(request), user=request.user,
                                             confirm=request.POST.get("confirm") == "1")
        except (ValidationError, PermissionDenied) as exc:
            errors = document_errors(exc)
        else:
            if plan.applied:
                messages.success(request, f"Saved {plan.blueprint}.")
                return redirect("catalog-blueprint", blueprint_id=plan.blueprint.pk)
    return render(request, "catalog/blueprint_import.html", {"source": source, "plan": plan, "errors": errors,
                                                             **_roles(request)})


# --- registries ---------------------------------------------------------------------------------------------------


@login_required
def registry_edit(request: HttpRequest, registry_id: int | None = None) -> HttpResponse:
    _require_admin(request)
    registry = get_object_or_404(Registry, pk=registry_id) if registry_id else None
    initial = {k: getattr(registry, k) for k in ("name", "kind", "url", "region")} if registry else {}
    form = RegistryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = registry_save(actor=Actor.from_request(request), user=request.user, registry=registry,
                                          name=data["name"], kind=data["kind"], url=data["url"],
                                          region=data["region"], credentials=form.credentials())
        except (ValidationError, PermissionDenied) as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Registry {saved.name} saved.")
            return redirect("catalog-registries")
    note = ("Stored credentials are never shown; leave the secret fields empty to keep them."
            if registry and registry.credentials else "")
    return render(request, "catalog/form.html", {"form": form, "cancel": "catalog-registries", "note": note,
                                                 "title": f"Edit registry {registry.name}" if registry
                                                 else "New registry"})
