"""A movement's complete record as one signed JSON file (``export``), checked offline with
nothing but the parties' public keys (``verify``: pure)."""
