"""Policies (issue 17): quotas per user and team, expiry per stage, who may create in which stage,
mandatory sleep schedules, and production environments created only on a Platform admin's approval.
The models belong to the ``environments`` app."""
