"""The node's exceptions (see the package docstring for the tree)."""

from __future__ import annotations

from tripp.errors import Conflict, NotFound, TrippError


class PostError(TrippError):
    """Root of the node's errors; the subclasses take their status from their second base."""


class NodeMisconfigured(PostError):
    """The node cannot start as asked (bad option, a store that belongs to another office)."""

    title = "Node misconfigured"
    slug = "post-misconfigured"


class NotExpectedHere(PostError, NotFound):
    """The scanned MRN, vehicle or container is not in the office's mirrored list."""


class AlreadyRecorded(PostError, Conflict):
    """The movement's crossing (or arrival) at this office is already recorded."""


class InspectionRequired(PostError, Conflict):
    """The movement was screened yellow or red here and lacks the inspection it needs."""


class NotScreenable(PostError, Conflict):
    """The mirror lacks what screening needs (goods data, a ruleset)."""


class UpstreamUnreachable(PostError):
    """No definitive answer from the upstream: connection refused or reset, a timeout, or a
    gateway status (502, 503, 504, 429). Nothing is concluded; the round is retried."""

    status = 503
    title = "Upstream unreachable"
    slug = "post-upstream-unreachable"


class UpstreamRefused(PostError):
    """The upstream refused the node's token (401, 403): no push can succeed until an
    operator fixes the token, so the round stops rather than turning events into conflicts."""

    status = 502
    title = "Upstream refused the node"
    slug = "post-upstream-refused"


class PullFailed(PostError):
    """The upstream answered the pull (the expected list, the ruleset, the corridor) with
    something the node cannot mirror; the mirror is left as it was."""

    status = 502
    title = "Pull failed"
    slug = "post-pull-failed"
