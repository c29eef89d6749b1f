"""Rare-event estimation on the infrastructure process: the replicas, zones and injected outages
that evolve on their own, whatever the customers do.

- :mod:`sim.rare.infrastructure`: the infrastructure alone, simulated event by event for any
  failure and repair law (incident and path-down intervals over a horizon);
- :mod:`sim.rare.markov`: the same process as a continuous-time Markov chain when every law is
  exponential (states, transition rates with repair crews, an exact stationary solve);
- :mod:`sim.rare.biasing`: regenerative cycles of that chain, crude and with balanced failure
  biasing, and the ratio estimators of unavailability, outage frequency and mean outage;
- :mod:`sim.rare.crude`: crude estimates from independent infrastructure-only runs, the fall-back
  for failure laws that are not exponential;
- :mod:`sim.rare.estimates`: point estimates with delta-method intervals and one-sided bounds;
- :mod:`sim.rare.windows`: the customer metrics of a replication from customer runs through its
  incident windows only (the path scripted into the model) plus scaled healthy-only segments
  (:mod:`sim.rare.window_times`: the windows' look-back, warm-up and drain);
- :mod:`sim.rare.cycles`: customer metrics per second, per horizon and per year from regenerative
  cycles, each incident's window weighted by its balanced-failure-biasing likelihood ratio;
- :mod:`sim.rare.transient`: exact expectations over a horizon started all-up (down time per path
  and tier, outages and their length, incidents) by uniformization of the chain;
- :mod:`sim.rare.batches`: the ``rare`` method's replication, one fixed-size batch of cycles (strata
  sized by Neyman allocation from a seeded pilot) turned into a run's per-horizon metrics.
"""
