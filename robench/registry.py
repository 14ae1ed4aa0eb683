"""One registry for everything robench finds by name: suites, metrics, model sources, recipes.

Entries are lazy ``"module:attr"`` strings (or objects), so listing names imports nothing heavy.
Another package adds entries without editing robench through Python entry points: a registry with
``group="robench.suites"`` also reads every ``[robench.suites]`` entry point of the installed
distributions, the first time it is asked for a name. Names are never overwritten silently: a second
registration of a taken name is an error unless it asks for ``replace=True`` (a test swapping in a
stand-in, say), and an entry point that claims a built-in name is an error naming both.
Unknown names get the closest known names suggested (``close_names``), the one did-you-mean of robench.
"""
import difflib
import importlib
from importlib import metadata

from robench.errors import RobenchError


class RegistryError(RobenchError):
    """A name is unknown, or two registrations claim one name."""


def close_names(name, known, n=3, cutoff=0.6):
    """' Did you mean a, b?' for the known names closest to ``name`` ('' when none is close)."""
    close = difflib.get_close_matches(str(name), list(known), n=n, cutoff=cutoff)
    return f" Did you mean {', '.join(close)}?" if close else ""


def load_target(target):
    """The object a ``"module:attr"`` string names (objects are returned as they are)."""
    if not isinstance(target, str):
        return target
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise RegistryError(f"registry target {target!r} is not of the form 'module:attr'")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry:
    """Names -> lazily imported objects, built-ins first, then entry points of ``group``."""

    def __init__(self, kind, group=None):
        self.kind, self.group = kind, group
        self._targets, self._origins, self._loaded = {}, {}, {}
        self._entry_points_read = group is None

    def register(self, name, target, *, replace=False, origin="robench"):
        """Adds ``name`` -> ``target`` ("module:attr" or an object); returns ``target`` (decorator-friendly)."""
        if not isinstance(name, str) or not name:
            raise RegistryError(f"a {self.kind} needs a non-empty name (got {name!r})")
        if name in self._targets and not replace and self._targets[name] != target:
            raise RegistryError(f"{self.kind} '{name}' is already registered by {self._origins[name]} "
                                f"({self._describe(self._targets[name])}); {origin} cannot register "
                                f"{self._describe(target)} under the same name (pass replace=True to override)")
        self._targets[name], self._origins[name] = target, origin
        self._loaded.pop(name, None)
        return target

    def unregister(self, name):
        self._targets.pop(name, None)
        self._origins.pop(name, None)
        self._loaded.pop(name, None)

    def add(self, name, *, replace=False):
        """Decorator form of ``register``."""
        return lambda obj: self.register(name, obj, replace=replace)

    def names(self):
        """Registered names in registration order (built-ins first)."""
        self._read_entry_points()
        return list(self._targets)

    def __contains__(self, name):
        self._read_entry_points()
        return name in self._targets

    def get(self, name):
        """The object registered as ``name``; an unknown name is a RegistryError that suggests close ones."""
        self._read_entry_points()
        if name not in self._targets:
            known = list(self._targets)
            raise RegistryError(f"unknown {self.kind} '{name}'.{close_names(name, known)} "
                                f"Known: {', '.join(known)}")
        if name not in self._loaded:
            try:
                self._loaded[name] = load_target(self._targets[name])
            except (ImportError, AttributeError) as e:
                raise RegistryError(f"{self.kind} '{name}' ({self._describe(self._targets[name])}, from "
                                    f"{self._origins[name]}) cannot be loaded: {e}") from None
        return self._loaded[name]

    def origin(self, name):
        self._read_entry_points()
        return self._origins.get(name)

    def _read_entry_points(self):
        if self._entry_points_read:
            return
        self._entry_points_read = True
        for ep in sorted(metadata.entry_points(group=self.group), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            origin = f"entry point {ep.name} = {ep.value} of {dist.name if dist else 'an installed package'}"
            self.register(ep.name, ep.value, origin=origin)

    @staticmethod
    def _describe(target):
        return target if isinstance(target, str) else f"{getattr(target, '__module__', '?')}." \
                                                      f"{getattr(target, '__qualname__', type(target).__name__)}"
