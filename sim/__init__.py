"""outagesim: how many checkouts an outage costs, and how long recovery takes, per architecture."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("outagesim")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
