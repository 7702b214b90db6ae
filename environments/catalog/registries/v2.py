"""Any registry speaking the Docker Registry HTTP API v2 (Distribution, Harbor, GHCR, Artifactory, …).

Tags come from ``GET /v2/<name>/tags/list`` (following ``Link: rel="next"``), each tag's digest from
``HEAD /v2/<name>/manifests/<tag>`` with the manifest media types in ``Accept`` (without them a
registry may convert the manifest and report another digest). Pushed-at and size are read from the
image's config blob and manifest, once per digest (``known`` spares the requests for digests already seen).
Authentication follows the registry's ``WWW-Authenticate`` challenge: Basic, or Bearer through the
token service named by ``realm`` (with the stored username/password, or anonymously).
"""

from __future__ import annotations

import re
from datetime import datetime
from ipaddress import ip_address
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from . import RegistryError, RegistryTag

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[:2]
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _may_carry_credentials(url: str) -> bool:
    """Credentials travel only over https, or over http to this machine (a development registry)."""
    scheme, host, _port = _origin(url)
    if scheme == "https":
        return True
    try:
        return scheme == "http" and (host == "localhost" or ip_address(host).is_loopback)
    except ValueError:
        return False


def _parse_created(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    # Go writes nanoseconds; Python reads at most microseconds.
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None


class V2Registry:
    def __init__(self, *, name: str, url: str, credentials: dict[str, str] | None = None,
                 timeout: float | None = None) -> None:
        if not re.match(r"^https?://[^/\s]+", url or ""):
            raise RegistryError(f"Registry '{name}' needs a base URL such as https://registry.example.com.")
        self.name, self.base = name, url.rstrip("/") + "/"
        self.credentials = credentials or {}
        self.timeout = timeout or settings.SLIPWAY_REGISTRY_TIMEOUT_SECONDS
        self.http = requests.Session()
        self._bearer: dict[str, str] = {}  # scope -> token
        self._uses_basic = False

    # --- transport with the auth challenge --------------------------------------------------------------------

    def _basic(self) -> tuple[str, str] | None:
        if self.credentials.get("username"):
            return self.credentials["username"], self.credentials.get("password", "")
        return None

    def _send(self, method: str, url: str, *, scope: str, headers: dict[str, str] | None = None) -> requests.Response:
        headers = dict(headers or {})
        if scope in self._bearer:
            headers["Authorization"] = f"Bearer {self._bearer[scope]}"
        # Once a registry has asked for Basic, send it up front: one round trip per request, not two.
        response = self._raw(method, url, headers=headers, auth=self._basic() if self._uses_basic else None)
        if response.status_code != 401:
            return response
        challenge = response.headers.get("WWW-Authenticate", "")
        if challenge.lower().startswith("basic"):
            if self._basic() is None:
                raise RegistryError(f"Registry '{self.name}' requires a username and password.")
            self._uses_basic = True
            response = self._raw(method, url, headers=headers, auth=self._basic())
        elif challenge.lower().startswith("bearer"):
            params = dict(_CHALLENGE_PARAM.findall(challenge))
            self._bearer[scope] = self._token(params, scope)
            headers["Authorization"] = f"Bearer {self._bearer[scope]}"
            response = self._raw(method, url, headers=headers)
        if response.status_code == 401:
            raise RegistryError(f"Registry '{self.name}' refused the credentials (HTTP 401).")
        return response

    def _raw(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if (kwargs.get("auth") or "Authorization" in (kwargs.get("headers") or {})) and not _may_carry_credentials(url):
            raise RegistryError(f"Registry '{self.name}' would send its credentials over plain http to "
                                f"{_origin(url)[1][:100]}: credentials go only over https.")
        try:
            return self.http.request(method, url, timeout=self.timeout, allow_redirects=True, **kwargs)
        except requests.RequestException as exc:
            raise RegistryError(f"Registry '{self.name}' is unreachable at {self.base} "
                                f"({type(exc).__name__}).") from exc

    def _token(self, params: dict[str, str], scope: str) -> str:
        realm = params.get("realm")
        if not realm:
            raise RegistryError(f"Registry '{self.name}' asked for a bearer token without naming its token service.")
        if self.credentials.get("token"):
            return self.credentials["token"]
        query = {"service": params.get("service", ""), "scope": params.get("scope") or scope}
        response = self._raw("GET", realm, params=query, auth=self._basic())
        if response.status_code in (401, 403):
            raise RegistryError(f"Registry '{self.name}' refused the credentials (token service HTTP "
                                f"{response.status_code}).")
        try:
            body = response.json()
            return body.get("token") or body["access_token"]
        except (ValueError, KeyError, AttributeError) as exc:
            raise RegistryError(f"Registry '{self.name}''s token service gave no token "
                                f"(HTTP {response.status_code}).") from exc

    # --- the API ---------------------------------------------------------------------------------------------------

    def _url(self, repository: str, tail: str) -> str:
        return urljoin(self.base, f"v2/{repository}/{tail}")

    def _refuse(self, response: requests.Response, repository: str, what: str) -> None:
        if response.status_code == 404:
            raise RegistryError(f"Registry '{self.name}' has no repository '{repository}'.")
        if response.status_code == 403:
            raise RegistryError(f"Registry '{self.name}' does not let these credentials read '{repository}'.")
        if response.status_code >= 400:
            raise RegistryError(f"Registry '{self.name}' answered HTTP {response.status_code} to {what} "
                                f"of '{repository}'.")

    def tag_names(self, repository: str) -> list[str]:
        scope = f"repository:{repository}:pull"
        url: str | None = self._url(repository, "tags/list?n=200")
        names: list[str] = []
        while url:
            response = self._send("GET", url, scope=scope)
            self._refuse(response, repository, "the tag list")
            try:
                names.extend(response.json().get("tags") or [])
            except ValueError as exc:
                raise RegistryError(f"Registry '{self.name}' sent a tag list that is not JSON.") from exc
            link = _NEXT_LINK.search(response.headers.get("Link", ""))
            url = urljoin(self.base, link.group(1)) if link else None
            if url and _origin(url) != _origin(self.base):
                # The next page carries the bearer token: it goes to the registry itself, nowhere else.
                raise RegistryError(f"Registry '{self.name}' sent a next-page link to another server "
                                    f"({_origin(url)[1][:100]}); Slipway follows links only on {self.base}.")
        return names

    def digest(self, repository: str, reference: str) -> str:
        response = self._send("HEAD", self._url(repository, f"manifests/{reference}"),
                              scope=f"repository:{repository}:pull", headers={"Accept": ", ".join(MANIFEST_TYPES)})
        self._refuse(response, repository, f"the manifest {reference}")
        digest = response.headers.get("Docker-Content-Digest", "")
        if not digest.startswith("sha256:"):
            raise RegistryError(f"Registry '{self.name}' gave no digest for {repository}:{reference}.")
        return digest

    def _json(self, repository: str, tail: str, accept: str) -> dict[str, Any]:
        response = self._send("GET", self._url(repository, tail), scope=f"repository:{repository}:pull",
                              headers={"Accept": accept})
        self._refuse(response, repository, tail)
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryError(f"Registry '{self.name}' sent {tail} of '{repository}' that is not JSON.") from exc

    def image_facts(self, repository: str, digest: str) -> tuple[datetime | None, int | None]:
        """(created, compressed size) of the image behind ``digest``; an index reports its first image."""
        manifest = self._json(repository, f"manifests/{digest}", ", ".join(MANIFEST_TYPES))
        if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
            entries = manifest.get("manifests") or []
            if not entries:
                return None, None
            return self.image_facts(repository, entries[0]["digest"])
        config = manifest.get("config") or {}
        size = sum(int(part.get("size", 0)) for part in [config, *(manifest.get("layers") or [])])
        created = None
        if config.get("digest"):
            created = _parse_created(self._json(repository, f"blobs/{config['digest']}", "*/*").get("created"))
        return created, size

    def tags(self, repository: str, known: dict[str, tuple[datetime | None, int | None]] | None = None
             ) -> list[RegistryTag]:
        known = dict(known or {})
        found = []
        for name in self.tag_names(repository):
            digest = self.digest(repository, name)
            if digest not in known:
                known[digest] = self.image_facts(repository, digest)
            pushed_at, size = known[digest]
            found.append(RegistryTag(tag=name, digest=digest, pushed_at=pushed_at, size_bytes=size))
        return found
