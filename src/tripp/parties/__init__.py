"""Parties (customs authorities, carriers, the operator, observers), roles and tokens."""
