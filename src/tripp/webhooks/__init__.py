"""Webhooks: parties subscribe a URL to alert kinds and receive signed POSTs.

Alerts reach subscribers through a transactional outbox: ``service.enqueue_alert``
writes one pending delivery per entitled subscription in the same transaction
that opened or cleared the alert, so a committed alert is never lost, and
``dispatcher.WebhookDispatcher`` posts them after commit, retrying with backoff.
The deliveries table is the delivery log.

Errors are the project's own (``tripp.errors``): ``InvalidInput`` naming the
field (``url``, ``kinds[1]``, ``secret``), ``Forbidden`` for roles that may not
subscribe, ``NotFound`` for another party's webhook, ``Conflict`` past the
per-party limit.
"""
