"""outagesim: how many checkouts an outage costs, and how long recovery takes, per architecture.

Notebook API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.toml", overrides={"tiers.payment.mttr": "45m"})
    result = sim.run(scenario, replications=10, seed=1, workers=2)
    result.metrics["lost_checkouts"].mean
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("outagesim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"

__all__ = ["__version__", "load_scenario", "run", "sweep"]


def __getattr__(name: str):
    # imported on first use, so `import sim` stays light and submodules can import __version__
    if name == "load_scenario":
        from sim.scenario import load_scenario

        return load_scenario
    if name == "run":
        from sim.experiment import run

        return run
    if name == "sweep":
        from sim.sweeps.runner import sweep

        return sweep
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
