from django.conf import settings
from django.db import models


class Team(models.Model):
    """A group of people who own environments together; a user may belong to several."""

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
