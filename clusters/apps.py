from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = "Clusters"

    def ready(self) -> None:
        from portal.jobs.selectors import job_waiting_rule_register
        from portal.upstream import outside_errors_register

        from . import periodic  # noqa: F401  (registers the beat tasks in every process, worker and web)
        from .kube.client_errors import CLIENT_ERRORS
        from .selectors import plan_jobs_awaiting_approval

        # Job pages then call a plan awaiting approval that, not "succeeded".
        job_waiting_rule_register(plan_jobs_awaiting_approval)
        # The API then answers 502, not 500, when a kubernetes client error escapes an adapter.
        outside_errors_register(*CLIENT_ERRORS)
