"""Cost (issue 17): price tables per cluster, sampled usage x time per environment, forecasts at
creation, and team budgets with notices. The models belong to the ``environments`` app."""
