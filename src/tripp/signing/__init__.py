"""Ed25519 signatures: each customs authority (and the operator) signs what it records,
so each can later prove what it said (``keys``: pure; ``keyring``: private keys on disk;
``store``: the public keys every party may fetch; ``documents``: the signed bytes)."""
