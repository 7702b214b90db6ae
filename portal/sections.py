"""Navigation sections whose features are not built yet: an honest empty page, not a fake one."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

UPCOMING = {
    "data-copies": ("Data copies", "Copy MariaDB, Redis and S3 data between environments, with masking."),
}


def section(slug: str):
    title, summary = UPCOMING[slug]

    @login_required
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, "section_upcoming.html", {"title": title, "summary": summary, "section": slug})

    view.__name__ = f"{slug.replace('-', '_')}_index"
    return view
