"""The API's routes come from each app's ``api_urls`` module; ``portal/api/urls.py`` only includes
them and serves the API root (issue 15: no viewset registered app by app in one central router)."""

from django.urls import URLResolver, get_resolver


def test_every_api_route_is_included_from_its_app():
    [api] = [entry for entry in get_resolver().url_patterns
             if isinstance(entry, URLResolver) and entry.namespace == "api"]
    for entry in api.url_patterns:
        if isinstance(entry, URLResolver):
            assert entry.urlconf_name.__name__.endswith(".api_urls"), entry.urlconf_name
        else:
            assert entry.name == "api-root", f"{entry.pattern} belongs in its app's api_urls.py"
