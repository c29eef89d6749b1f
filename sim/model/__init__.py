"""The checkout model: SimPy components for customers, tiers, replicas, failures and traffic.

No I/O and no globals: every component receives its environment, random streams and recorder.
"""
