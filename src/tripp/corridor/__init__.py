"""The corridor as data: offices, routes, stop zones, tariff and currencies.

``model`` holds the pure value objects; ``loader`` reads and validates the
documented YAML + GeoJSON format (docs/corridor-format.md) and raises
``CorridorInvalid`` naming the file, the field and the rule.
"""
