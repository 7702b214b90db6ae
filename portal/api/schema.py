"""OpenAPI pieces shared by every endpoint: the error envelope."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={"error": inline_serializer(name="ErrorBody", fields={
        "status": serializers.IntegerField(), "code": serializers.CharField(), "message": serializers.CharField(),
        "fields": serializers.DictField(required=False),
    })},
)

ERROR_RESPONSES = {code: OpenApiResponse(ErrorSerializer, description=text) for code, text in {
    400: "Invalid input", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    413: "Request body too large", 502: "An outside service answered wrongly",
    503: "An outside service (cluster, AWS) cannot be reached"}.items()}
