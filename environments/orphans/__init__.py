"""Orphans (issue 17): what Slipway created and no longer tracks (namespaces, data stores, DNS names,
Terraform state), found by a sweeper, priced, and removed on an admin's confirmation. The models belong
to the ``environments`` app."""
