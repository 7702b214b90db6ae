"""The project's URLs plus one view that fails, to see what a person gets from a server error."""

from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500, urlpatterns


def fail(request):
    raise RuntimeError("a bug the person must not see: SECRET_TRACEBACK_TEXT")


urlpatterns = [*urlpatterns, path("__fail__/", fail), path("api/v1/__fail__/", fail)]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
