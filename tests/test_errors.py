"""The error tree: every exception predhub defines says what its caller should do."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import Counter

import pytest

import predhub
from predhub.errors import PredhubError, UsageProblem, mixins_of
from predhub.venues.errors import RateLimited, VenueError


def _exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module under `predhub` (all modules imported)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(predhub.__path__, "predhub."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


CLASSES = _exception_classes()


def _param(cls: type[BaseException]) -> object:
    return pytest.param(cls, id=f"{cls.__module__}.{cls.__name__}")


def test_the_tree_was_found() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"PredhubError", "VenueError", "ServiceError", "LoadFailed", "ApiError"} <= names


@pytest.mark.parametrize("cls", [_param(c) for c in CLASSES])
def test_every_exception_derives_from_the_root_and_one_mixin(cls: type[BaseException]) -> None:
    assert issubclass(cls, PredhubError), f"{cls} does not derive from PredhubError"
    assert cls.__doc__, f"{cls} has no docstring (its default message)"
    if cls is PredhubError or cls.__dict__.get("abstract", False):
        assert cls.abstract and not mixins_of(cls), f"{cls} groups errors: no mix-in"
    else:
        assert len(mixins_of(cls)) == 1, f"{cls}: mix-ins {mixins_of(cls)}"
    for builtin in (RuntimeError, ValueError, KeyError, LookupError, TypeError, OSError):
        assert not issubclass(cls, builtin), f"{cls} is caught as {builtin.__name__}"


def test_no_two_exceptions_share_a_name() -> None:
    counts = Counter(cls.__name__ for cls in CLASSES)
    assert [name for name, n in counts.items() if n > 1] == []


def test_the_docstring_is_the_default_message() -> None:
    assert str(UsageProblem()) == "A problem the user can fix."
    assert str(UsageProblem("bad flag")) == "bad flag"
    assert str(RateLimited(venue="kalshi")) == "kalshi: The venue answered 429 Too Many Requests."


def test_a_grouping_class_is_never_raised_itself() -> None:
    with pytest.raises(TypeError, match="groups errors"):
        VenueError("boom")
