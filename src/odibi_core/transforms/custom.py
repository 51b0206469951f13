"""Custom transforms the way Odibi users write them: ``@transform`` from ``odibi``, a global
``FunctionRegistry``, functions called with an ``EngineContext``, and a ``transforms.py``
beside the project file imported when the project loads.

Odibi's calling convention: ``func(context, ...)`` where a parameter named ``current`` receives
the frame, and the step's params arrive as keyword arguments, or, when the function was
registered with a ``param_model``, as one validated model instance after ``context``. A
function may return a frame or an ``EngineContext``. Registered functions reach the runner as
ordinary transforms of a plugin named ``project:transforms``, so ``odibi validate`` checks
their params and ``odibi plugins`` lists them; a name that is also a built-in replaces the
built-in, as it does in Odibi.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from odibi_core import hookimpl
from odibi_core.errors import NodeError, PluginError
from odibi_core.transforms.registry import Transform, TransformContext

log = logging.getLogger("odibi.transforms")

#: The file Odibi imports from the project's folder.
PROJECT_FILE = "transforms.py"
_INJECTED = ("context", "current")


class EngineType(StrEnum):
    """The engine a function runs on; equal to its plain name (``"pandas"``)."""

    PANDAS = "pandas"
    SPARK = "spark"
    POLARS = "polars"


class EngineContext:
    """What a custom function sees: the current frame, the engine, the node's inputs, SQL."""

    def __init__(self, tctx: TransformContext, df: Any, views: dict[str, Any] | None = None):
        self._tctx = tctx
        self.df = df
        self._views: dict[str, Any] = views if views is not None else {}

    @property
    def engine(self) -> Any:
        return self._tctx.engine

    @property
    def engine_type(self) -> EngineType | str:
        name = self._tctx.engine.name
        return EngineType(name) if name in EngineType._value2member_map_ else name

    @property
    def columns(self) -> list[str]:
        return [name for name, _ in self._tctx.engine.schema(self.df)]

    @property
    def schema(self) -> dict[str, str]:
        return dict(self._tctx.engine.schema(self.df))

    @property
    def spark(self) -> Any:
        return getattr(self._tctx.engine, "spark", None)

    @property
    def pii_metadata(self) -> dict[str, bool]:
        columns = getattr(self._tctx.node, "columns", None) or {}
        return {name: bool(meta.pii) for name, meta in columns.items()}

    def with_df(self, df: Any) -> EngineContext:
        """A context like this one holding ``df``."""
        return EngineContext(self._tctx, df, self._views)

    def get(self, name: str) -> Any:
        """Another node's output (it must be in depends_on), or a registered view."""
        if name in self._views:
            return self._views[name]
        return self._tctx.engine.native(self._tctx.table(name))

    def register_temp_view(self, name: str, df: Any) -> None:
        """Make ``df`` visible to :meth:`sql` as table ``name``."""
        self._views[name] = df

    def sql(self, query: str) -> EngineContext:
        """Run SQL on the current frame (table ``df``), the node's inputs and registered
        views; the result comes back as a new context."""
        tctx = self._tctx
        if not self._views:
            result = tctx.sql(query, self.df)
        else:
            tctx.executed_sql.append(query)
            tables = {**tctx.tables, **self._views, "df": self.df}
            result = tctx.engine.sql(query, tables, node=tctx.node.name)
        return self.with_df(tctx.engine.native(result))


class FunctionRegistry:
    """Odibi's global registry of transform functions, by name."""

    _functions: dict[str, Callable[..., Any]] = {}
    _param_models: dict[str, type[BaseModel]] = {}

    @classmethod
    def register(
        cls, func: Callable[..., Any], name: str | None = None, param_model: Any = None
    ) -> Callable[..., Any]:
        name = name or func.__name__
        if name in cls._functions and cls._functions[name] is not func:
            log.warning("transform '%s' registered again; the newer one replaces it", name)
        cls._functions[name] = func
        cls._param_models.pop(name, None)
        if param_model is not None:
            cls._param_models[name] = param_model
        return func

    @classmethod
    def get(cls, name: str) -> Callable[..., Any]:
        if name not in cls._functions:
            known = ", ".join(cls._functions) or "none"
            raise ValueError(f"transform function '{name}' is not registered; registered: {known}")
        return cls._functions[name]

    @classmethod
    def get_function(cls, name: str) -> Callable[..., Any] | None:
        return cls._functions.get(name)

    @classmethod
    def has_function(cls, name: str) -> bool:
        return name in cls._functions

    @classmethod
    def get_param_model(cls, name: str) -> type[BaseModel] | None:
        return cls._param_models.get(name)

    @classmethod
    def list_functions(cls) -> list[str]:
        return list(cls._functions)

    @classmethod
    def validate_params(cls, name: str, params: Mapping[str, Any]) -> None:
        """Raise ``ValueError`` naming what is wrong with ``params`` for ``name``."""
        model = _params_model(name, cls.get(name), cls.get_param_model(name))
        if model is None:
            return
        try:
            model.model_validate(dict(params))
        except ValidationError as exc:
            raise ValueError(f"invalid params for '{name}': {exc}") from None

    @classmethod
    def get_function_info(cls, name: str) -> dict[str, Any]:
        func = cls.get(name)
        signature = inspect.signature(func)
        params = {
            p.name: {
                "required": p.default is inspect.Parameter.empty,
                "default": None if p.default is inspect.Parameter.empty else p.default,
                "annotation": None if p.annotation is inspect.Parameter.empty else p.annotation,
            }
            for p in signature.parameters.values()
            if p.name != "context"
        }
        return {"name": name, "docstring": inspect.getdoc(func), "parameters": params}

    @classmethod
    def clear(cls) -> None:
        cls._functions.clear()
        cls._param_models.clear()


def transform(name_or_func: Any = None, **kwargs: Any) -> Any:
    """Register a function: ``@transform``, ``@transform("name")`` or
    ``@transform(name="name", param_model=Model)``. The function itself is returned."""
    param_model = kwargs.get("param_model")
    name = kwargs.get("name")
    if callable(name_or_func):
        return FunctionRegistry.register(name_or_func, name, param_model)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return FunctionRegistry.register(func, name_or_func or name, param_model)

    return decorate


def get_registered_function(name: str) -> Callable[..., Any]:
    return FunctionRegistry.get(name)


def validate_function_params(name: str, params: Mapping[str, Any]) -> None:
    FunctionRegistry.validate_params(name, params)


# ---------------------------------------------------------------- running registered functions


def _params_model(
    name: str, func: Callable[..., Any], given: type[BaseModel] | None
) -> type[BaseModel] | None:
    """The model ``odibi validate`` checks params with: the registered one, else one made
    from the signature (unknown params are errors then), none when it takes ``**kwargs``."""
    if given is not None:
        return given
    fields: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.name in _INJECTED or p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (Any, default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{name}_params", __config__=config, **fields)


def _wants_model_positionally(func: Callable[..., Any]) -> bool:
    """Odibi passes a param model as the argument after ``context``, unless that argument is
    ``current`` (then the model's fields go by name)."""
    positional = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 2 and positional[1].name != "current"


class FunctionTransform(Transform):
    """A registered function as a transform: params go to it raw, in Odibi's convention."""

    def __call__(self, ctx: TransformContext, df: Any, params: Mapping[str, Any]) -> Any:
        func, model = self.func, FunctionRegistry.get_param_model(self.name)
        df = ctx.engine.native(df)  # user code works on the engine's DataFrames
        kwargs: dict[str, Any] = {}
        if "current" in inspect.signature(func).parameters:
            kwargs["current"] = df
        context = EngineContext(ctx, df)
        values = dict(params)
        if model is not None:
            try:
                instance = model.model_validate(values)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
                )
                raise NodeError(f"invalid params for '{self.name}': {problems}") from None
            if _wants_model_positionally(func):
                result = func(context, instance, **kwargs)
            else:
                fields = {n: getattr(instance, n) for n in type(instance).model_fields}
                result = func(context, **kwargs, **fields)
        else:
            result = func(context, **kwargs, **values)
        if isinstance(result, EngineContext):
            result = result.df
        return ctx.engine.from_native(df if result is None else result)


def registered_transforms() -> list[Transform]:
    """Every function of the registry, as transforms that run on any engine."""
    made: list[Transform] = []
    for name, func in FunctionRegistry._functions.items():
        model = _params_model(name, func, FunctionRegistry.get_param_model(name))
        doc = (func.__doc__ or "").strip().splitlines()
        made.append(FunctionTransform(name, func, "any", model, doc[0] if doc else ""))
    return made


class _ProjectFunctions:
    """The plugin through which registered functions reach the runner."""

    @hookimpl
    def odibi_register_transforms(self) -> list[Transform]:
        return registered_transforms()


PLUGIN = _ProjectFunctions()


def import_project_transforms(project_dir: Path) -> bool:
    """Import ``transforms.py`` beside a project file, once; True when it was imported now.

    Its folder joins ``sys.path`` so it can import its neighbours, as in Odibi.
    """
    path = (project_dir / PROJECT_FILE).resolve()
    if not path.is_file():
        return False
    modname = "transforms"
    loaded = sys.modules.get(modname)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return False
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    from odibi_core.plugin_manager import import_file

    try:
        import_file(modname, path)
    except Exception as exc:
        raise PluginError(f"{path} failed to import: {type(exc).__name__}: {exc}") from exc
    return True
