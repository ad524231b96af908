"""The tamper-evident audit log: every state change, decision and cross-party read,
appended to one hash chain (``chain``: pure; ``store``: tables and append; ``recorder``:
what services call inside their unit of work)."""
