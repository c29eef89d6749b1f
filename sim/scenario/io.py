"""Writing results so that nothing half-written is ever left behind (temporary file + rename)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path


def jsonable(obj: object) -> object:
    """Replace NaN by None and infinities by "inf"/"-inf" so the JSON is standard."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(path: str | Path, obj: object) -> Path:
    """Write ``obj`` as indented, standard JSON (see :func:`jsonable`), atomically."""
    return write_text_atomic(path, json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> object:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
