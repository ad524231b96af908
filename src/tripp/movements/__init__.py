"""Transit movements: declarations, their validation, liability, and the lifecycle.

Errors: ``IllegalTransition`` (409, names the current state and the allowed
event types), ``InvalidInput`` with one ``FieldError`` per broken rule (422),
``Forbidden`` when the caller may see but not act (403).
"""
