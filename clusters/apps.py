from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = "Clusters"

    def ready(self) -> None:
        from portal.jobs.selectors import job_waiting_rule_register

        from . import periodic  # noqa: F401  (registers the beat tasks in every process, worker and web)
        from .selectors import plan_jobs_awaiting_approval

        # Job pages then call a plan awaiting approval that, not "succeeded".
        job_waiting_rule_register(plan_jobs_awaiting_approval)
