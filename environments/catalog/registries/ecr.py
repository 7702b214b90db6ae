"""Amazon ECR: image tags from ``describe_images`` (paginated), through the one AWS adapter."""

from __future__ import annotations

from portal import aws

from . import RegistryError, RegistryTag

_BAD_CREDENTIALS = {"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException",
                    "ExpiredTokenException", "InvalidClientTokenId", "AuthFailure"}


class EcrRegistry:
    def __init__(self, *, name: str, region: str | None = None, credentials: dict[str, str] | None = None) -> None:
        self.name, self.region, self.credentials = name, region, credentials

    def tags(self, repository: str, known: dict | None = None) -> list[RegistryTag]:
        """One RegistryTag per tag; ECR groups tags per image, so tags of one image share a digest."""
        found: list[RegistryTag] = []
        try:
            client = aws.client("ecr", region=self.region, credentials=self.credentials)
            pages = client.get_paginator("describe_images").paginate(
                repositoryName=repository, filter={"tagStatus": "TAGGED"}, PaginationConfig={"PageSize": 100})
            for page in pages:
                for image in page.get("imageDetails", []):
                    for tag in image.get("imageTags", []):
                        found.append(RegistryTag(tag=tag, digest=image["imageDigest"],
                                                 pushed_at=image.get("imagePushedAt"),
                                                 size_bytes=image.get("imageSizeInBytes")))
        except aws.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "RepositoryNotFoundException":
                raise RegistryError(f"ECR registry '{self.name}' has no repository '{repository}'.") from exc
            if code in _BAD_CREDENTIALS:
                raise RegistryError(f"ECR registry '{self.name}' refused the credentials ({code}).") from exc
            raise RegistryError(f"ECR registry '{self.name}' answered {code}: "
                                f"{exc.response.get('Error', {}).get('Message', '')}") from exc
        except aws.NoCredentialsError as exc:
            raise RegistryError(f"ECR registry '{self.name}' has no credentials and none are configured.") from exc
        except aws.EndpointConnectionError as exc:
            raise RegistryError(f"ECR registry '{self.name}' is unreachable ({exc}).") from exc
        except aws.BotoCoreError as exc:
            raise RegistryError(f"ECR registry '{self.name}' could not be read: {exc}") from exc
        return found
