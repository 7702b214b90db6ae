"""The catalog: registries, components and their image versions, and blueprint versions (pages under
/catalog/, API /api/v1/components|image-versions|blueprints|registries/)."""
