"""The managers' dashboard (issue 17): environments by team, owner, stage and age, created and
destroyed per week, cost per team per month and the savings, top creators, long-lived and idle
environments; every number links to the filtered list and every table exports to CSV. No models."""
