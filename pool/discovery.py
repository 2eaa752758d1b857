"""Find the supervision models: one setting, read by every entry point.

A supervision model is one declaration (``MODEL = SupervisionModel(...)``, see
``features.model``) in a Python file, a package folder, or an installed module. Which ones exist
is said by one setting, ``SUPERVISION_MODELS``: a list separated by ``os.pathsep`` (``:``) or
commas of

- a folder: every ``*.py`` file and every sub-folder with an ``__init__.py`` in it that defines
  ``MODEL`` is one model (files starting with ``_`` are skipped);
- a ``.py`` file or a package folder defining ``MODEL`` itself;
- a dotted module name (``my_office.models.permits``).

The built-in models (the ``models`` package beside this one) are always found first; set
``SUPERVISION_MODELS`` to add an office's own. A name declared twice is refused, naming both
places. Importing this module imports no model; the first question (``names``, ``get``) imports
every listed one, once per setting
value (``reset()`` forgets it, for tests).

This module sits at the bottom layer on purpose: it only imports modules and collects objects,
so the pool, the features, training and the service all read the same list without importing
each other.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from settings import get_settings

ENV_MODELS = "SUPERVISION_MODELS"
#: The package holding the built-in models.
BUILTIN_PACKAGE = "models"


class DiscoveryError(ValueError):
    """A listed model location that cannot be read, or a model that is declared wrongly."""


class UnknownModelError(KeyError):
    """A model name that no listed location declares."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Found:
    """Where one model was declared and the declaration itself."""

    name: str
    where: str
    model: Any


_LOCK = threading.RLock()
_CACHE: dict[str, dict[str, Found]] = {}
_EXTRA: dict[str, Found] = {}


def setting(value: str | None = None) -> list[str]:
    """The listed locations (``value``, else ``$SUPERVISION_MODELS``), in order."""
    raw = get_settings().supervision_models if value is None else value
    return [part.strip() for part in re.split(rf"[,{re.escape(os.pathsep)}]", raw) if part.strip()]


def reset() -> None:
    """Forget what was discovered (the next call reads the setting again)."""
    with _LOCK:
        _CACHE.clear()
        _EXTRA.clear()


def register(model: Any, where: str = "registered in-process", replace: bool = False) -> Any:
    """Add one declaration by hand (tests, notebooks); refuses to shadow another one."""
    name = _name_of(model, where)
    with _LOCK:
        known = _all().get(name)
        if known is not None and known.model is not model and not replace:
            raise DiscoveryError(f"model {name!r} is already declared in {known.where}")
        _EXTRA[name] = Found(name, where, model)
    return model


def unregister(name: str) -> None:
    """Forget a model added with ``register``."""
    with _LOCK:
        _EXTRA.pop(name, None)


def models() -> dict[str, Found]:
    """Every discovered model by name: built-ins, then the setting's, then registered ones."""
    with _LOCK:
        return dict(_all())


def names() -> list[str]:
    """Every model name, sorted."""
    return sorted(models())


def get(name: str) -> Any:
    """The declaration of model ``name``."""
    found = models().get(name)
    if found is None:
        raise UnknownModelError(
            f"unknown supervision model {name!r}; known: {', '.join(names()) or 'none'} "
            f"(built-ins and ${ENV_MODELS}={get_settings().supervision_models!r})"
        )
    return found.model


def where(name: str) -> str:
    """Where model ``name`` was declared (a file, folder or module)."""
    get(name)
    return models()[name].where


def _all() -> dict[str, Found]:
    key = get_settings().supervision_models
    if key not in _CACHE:
        found: dict[str, Found] = {}
        for item in _builtin_modules() + [m for loc in setting(key) for m in _modules_at(loc)]:
            _add(found, item)
        _CACHE[key] = found
    merged = dict(_CACHE[key])
    for name, extra in _EXTRA.items():
        merged[name] = extra
    return merged


def _add(found: dict[str, Found], item: tuple[str, ModuleType]) -> None:
    where_, module = item
    model = getattr(module, "MODEL", None)
    if model is None:
        return
    name = _name_of(model, where_)
    if name in found and found[name].model is not model:
        raise DiscoveryError(
            f"model {name!r} is declared twice: in {found[name].where} and in {where_}"
        )
    found[name] = Found(name, where_, model)


def _name_of(model: Any, where_: str) -> str:
    name = getattr(model, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise DiscoveryError(f"{where_}: MODEL must be a SupervisionModel with a name")
    return name


def _builtin_modules() -> list[tuple[str, ModuleType]]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    if package.__file__ is None:
        raise DiscoveryError(f"{BUILTIN_PACKAGE} is a namespace package: it needs an __init__.py")
    folder = Path(package.__file__).parent
    out = []
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and (sub / "__init__.py").is_file() and not sub.name.startswith("_"):
            out.append(
                (
                    f"{BUILTIN_PACKAGE}.{sub.name}",
                    importlib.import_module(f"{BUILTIN_PACKAGE}.{sub.name}"),
                )
            )
    return out


def _modules_at(location: str, fresh: bool = False) -> list[tuple[str, ModuleType]]:
    path = Path(location).expanduser()
    if path.suffix == ".py":
        if not path.is_file():
            raise DiscoveryError(f"{ENV_MODELS}: model file {path} does not exist")
        return [(str(path), _import_path(path, fresh=fresh))]
    if path.is_dir():
        if (path / "__init__.py").is_file() and _declares(path / "__init__.py"):
            return [(str(path), _import_path(path / "__init__.py", package=path, fresh=fresh))]
        out = []
        for child in sorted(path.iterdir()):
            if child.name.startswith(("_", ".")):
                continue
            if child.suffix == ".py" and child.is_file():
                out.append((str(child), _import_path(child)))
            elif child.is_dir() and (child / "__init__.py").is_file():
                out.append((str(child), _import_path(child / "__init__.py", package=child)))
        return out
    if re.fullmatch(r"[A-Za-z_][\w.]*", location) and "/" not in location:
        try:
            return [(location, importlib.import_module(location))]
        except ModuleNotFoundError as exc:
            raise DiscoveryError(
                f"{ENV_MODELS}: {location!r} is neither a folder, a .py file nor an importable "
                f"module ({exc})"
            ) from exc
    raise DiscoveryError(f"{ENV_MODELS}: {location!r} does not exist")


def _declares(init: Path) -> bool:
    return re.search(r"^MODEL\s*[:=]", init.read_text(encoding="utf-8"), re.M) is not None


def _import_path(file: Path, package: Path | None = None, fresh: bool = False) -> ModuleType:
    """Import a file (or a package's ``__init__``) under a name derived from its path, so two
    offices' ``permits.py`` do not collide."""
    target = (package or file).resolve()
    digest = hashlib.sha256(str(target).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", target.stem)
    mod_name = f"supervision_model_{stem}_{digest}"
    if mod_name in sys.modules and not fresh:
        return sys.modules[mod_name]
    for name in [m for m in sys.modules if m == mod_name or m.startswith(mod_name + ".")]:
        del sys.modules[name]
    locations = [str(package)] if package is not None else None
    spec = importlib.util.spec_from_file_location(
        mod_name, file, submodule_search_locations=locations
    )
    if spec is None or spec.loader is None:
        raise DiscoveryError(f"cannot import model file {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(mod_name, None)
        raise DiscoveryError(f"model {file} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def simulated() -> list[str]:
    """Models whose declaration carries a simulator (the simulated pool builds these), in the
    built-ins' order first."""
    return [
        name for name, item in models().items() if getattr(item.model, "simulate", None) is not None
    ]


def pool_sources(name: str) -> list[Any]:
    """The agency tables model ``name`` reads from the pool (its declared ``SourceSpec``s, the
    verification history left out: the pool writes and validates that one itself)."""
    # deferred: pool.schemas loads pandera, which model discovery alone does not need
    from pool.schemas import HISTORY_TABLE

    return [s for s in get(name).sources if s.table != HISTORY_TABLE]


def model_at(file: str | Path) -> Any:
    """The ``MODEL`` of a model file, the same object discovery holds for it: how a rule model
    in one file is declared over the learnt model of its supervision point in a sibling file
    (``SupervisionModel.of(model_at(Path(__file__).with_name("model.py")), point=..., ...)``)."""
    module = _import_path(Path(file))
    model = getattr(module, "MODEL", None)
    if model is None:
        raise DiscoveryError(f"{file}: defines no MODEL")
    return model


def import_location(location: str) -> list[Any]:
    """Import one location (as listed in the setting) and return the models it declares."""
    out = []
    for _where, module in _modules_at(location, fresh=True):
        model = getattr(module, "MODEL", None)
        if model is not None:
            out.append(model)
    return out
