"""The offline border-post node (``tripp post``).

A node runs at one office with its own SQLite store. It mirrors the office's pre-arrival
list and its country's risk ruleset from the upstream server, screens and records events
locally while the upstream is unreachable, and pushes what it recorded when the upstream
answers again. Each event and screening carries its client-chosen id, so a push repeated
after a crash or a lost answer is answered ``200`` upstream and creates nothing twice.

Modules: ``model`` (pure rules: the inspection gate, what may be recorded, how an upstream
answer is classified), ``screening`` (pure: deciding a lane from the mirrored item),
``tables``/``mirror``/``store`` (the node's SQLite store), ``upstream`` (the HTTP client),
``sync`` (one push-then-pull round and the loop that repeats it), ``service`` (the
officer's use cases), ``views`` (the answers' shapes), ``app`` (the node's HTTP API),
``bootstrap`` (settings and wiring) and ``cli`` (the ``tripp post`` command).

Errors, all under ``tripp.errors.TrippError`` (see ``errors``): ``NotExpectedHere`` (404),
``AlreadyRecorded`` and ``InspectionRequired`` (409), ``NotScreenable`` (409),
``NodeMisconfigured`` (a store of another office, bad settings), ``UpstreamUnreachable``
(internal to a sync round: the round stops and is retried later).
"""
