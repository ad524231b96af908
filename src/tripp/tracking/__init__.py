"""Electronic cargo tracking: positions from trackers and e-seals, corridor alerts, tracks.

Channels (HTTP batches, OsmAnd, MQTT, Teltonika TCP) decode into ``Fix`` values
and hand them to one ``PositionSink``; evaluation against the corridor is pure
(``geometry``, ``alerts``); storage and HTTP are adapters beside them.
"""
