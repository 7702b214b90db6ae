"""Where environments keep their data (DataServer, DataStore) and copies between them (DataCopy)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.crypto import EncryptedTextField

from .contracts import Endpoint

KINDS = [("mysql", "MySQL/MariaDB"), ("redis", "Redis"), ("s3", "S3")]
KIND_NAMES = [k for k, _ in KINDS]
REDIS_STORE_PREFIX = "slipway-env:"
# A copy in these states writes (or is about to write) into its target: one at a time per target.
ACTIVE_COPY_STATES = ("queued", "running", "undoing")


class _Connection(models.Model):
    """Connection facts shared by servers and stores (password encrypted at rest)."""

    kind = models.CharField(max_length=10, choices=KINDS)
    host = models.CharField(max_length=255, blank=True, default="")
    port = models.PositiveIntegerField(default=0)
    user = models.CharField(max_length=128, blank=True, default="")
    password = EncryptedTextField(blank=True, default="")
    endpoint_url = models.CharField(max_length=255, blank=True, default="")
    region = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        abstract = True

    def endpoint(self, *, database: str = "", prefix: str = "") -> Endpoint:
        return Endpoint(kind=self.kind, host=self.host, port=self.port, user=self.user, password=self.password or "",
                        database=database, prefix=prefix, endpoint_url=self.endpoint_url, region=self.region)


class DataServer(_Connection):
    """A shared server of one kind per cluster, on which non-production environments get their own store
    (the pattern of one RDS/ElastiCache for all QA environments). Admin credentials."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="data_servers")
    # redis: "db" (a logical database per environment) or "prefix" (a key prefix in ``database``)
    mode = models.CharField(max_length=10, blank=True, default="")
    database = models.CharField(max_length=64, blank=True, default="", help_text="redis db index for prefix mode")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cluster", "kind"]
        constraints = [models.UniqueConstraint(fields=["cluster", "kind"], name="data_server_unique_kind")]

    def __str__(self) -> str:
        return f"{self.cluster.name} {self.kind} {self.host or self.endpoint_url}:{self.port or ''}"

    def server_endpoint(self) -> Endpoint:
        # A Redis server in prefix mode hands out key prefixes under this one (RedisCopier.provision).
        prefix = REDIS_STORE_PREFIX if (self.kind, self.mode) == ("redis", "prefix") else ""
        return self.endpoint(database=self.database, prefix=prefix)


class DataStore(_Connection):
    """One environment's store of one kind: a database, a Redis db/prefix or a bucket/prefix."""

    SHARED = "shared"
    IN_CLUSTER = "in_cluster"
    EXTERNAL = "external"
    PLACEMENTS = [(SHARED, "Shared server"), (IN_CLUSTER, "In-cluster StatefulSet"), (EXTERNAL, "Registered")]
    READY = "ready"
    RETIRING = "retiring"  # environment destroyed: removed once the undo window has passed
    REMOVED = "removed"
    STATES = [(READY, "Ready"), (RETIRING, "Retiring"), (REMOVED, "Removed")]

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE, related_name="data_stores")
    name = models.CharField(max_length=63)
    placement = models.CharField(max_length=12, choices=PLACEMENTS, default=EXTERNAL)
    server = models.ForeignKey(DataServer, null=True, blank=True, on_delete=models.PROTECT, related_name="stores")
    database = models.CharField(max_length=255, blank=True, default="")
    prefix = models.CharField(max_length=255, blank=True, default="")
    state = models.CharField(max_length=10, choices=STATES, default=READY)
    remove_after = models.DateTimeField(null=True, blank=True)
    # The ownership marker written next to a shared store (registry row, Redis registry entry, bucket
    # tag) when it was made; empty for stores made before markers existed (see data_store_provisioning).
    owner_marker = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["environment", "kind"]
        constraints = [models.UniqueConstraint(fields=["environment", "kind"], name="data_store_unique_kind")]

    def __str__(self) -> str:
        return f"{self.environment.name} {self.kind} {self.database}{self.prefix}"

    @property
    def team_id(self):  # object-level rules judge a store by its environment
        return self.environment.team_id

    def store_endpoint(self) -> Endpoint:
        return self.endpoint(database=self.database, prefix=self.prefix)


class DataCopy(models.Model):
    QUEUED = "queued"
    RUNNING = "running"
    VERIFIED = "verified"
    FAILED = "failed"
    UNDOING = "undoing"
    UNDONE = "undone"
    STATES = [(QUEUED, "Queued"), (RUNNING, "Running"), (VERIFIED, "Verified"), (FAILED, "Failed"),
              (UNDOING, "Undoing"), (UNDONE, "Undone")]
    ACTIVE = ACTIVE_COPY_STATES

    source = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="copies_out")
    target = models.ForeignKey("environments.Environment", on_delete=models.PROTECT, related_name="copies_in")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="data_copies")
    stores = models.JSONField(default=list)  # ["mysql", "redis", "s3"]
    # {"mysql": {"include_tables": [...], "exclude_tables": [...], "filters": {...}}, "redis": {...},
    #  "s3": {...}, "masking": {"table.column": rule}}
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=STATES, default=QUEUED)
    error = models.TextField(blank=True, default="")
    progress = models.JSONField(default=dict, blank=True)  # per store: counters
    throughput = models.JSONField(default=dict, blank=True)  # per store: units per second
    verification = models.JSONField(default=dict, blank=True)  # per store: verified + details
    snapshots = models.JSONField(default=dict, blank=True)  # per store: the copier's snapshot reference
    policy_override = models.TextField(blank=True, default="")  # admin's written reason to copy unmasked prod data
    job = models.OneToOneField("jobs.Job", on_delete=models.PROTECT, related_name="data_copy")
    undo_job = models.OneToOneField("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="data_copies")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undo_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["target", "-created_at"], name="datacopy_target_idx"),
                   models.Index(fields=["state"], name="datacopy_state_idx")]
        constraints = [
            # One copy (or undo) writing into a target at a time, held by the database: a check in the
            # service alone let concurrent requests all start.
            models.UniqueConstraint(fields=["target"], condition=models.Q(state__in=ACTIVE_COPY_STATES),
                                    name="one_active_copy_per_target"),
        ]

    def __str__(self) -> str:
        return f"{self.source.name} → {self.target.name} ({', '.join(self.stores)})"

    @property
    def stage(self) -> str:  # object-level rules: a copy into production is a production change
        return self.target.stage
