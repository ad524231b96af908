"""The corridor as data: offices, routes, stop zones, tariff and currencies.

``model`` holds the pure value objects; ``loader`` reads and validates the
documented YAML + GeoJSON format (docs/corridor-format.md) and raises
``CorridorInvalid`` naming the file, the field and the rule. ``loader`` reads
the top level and delegates each section to its own module (``offices``,
``geojson``, ``tariff``, ``currencies``, ``itineraries``), all built on the
error-collecting readers of ``fields`` and the strict parser of ``yamlsafe``.
``export`` turns a corridor back into the JSON of GET /corridor.
"""
