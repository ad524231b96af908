"""The operations dashboard: its API (``api``: map layers, live stream, KPIs, simulator
reports) and its pages (``pages``: static files served by the tripp server itself)."""
