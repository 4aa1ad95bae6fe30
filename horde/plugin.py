"""The plugin API: everything a plugin author imports (docs/plugins.md, ADR 0008).

    from horde.plugin import EventRecord, Plugin, PluginError, RunEnd, option

The names are defined in `horde.actors.plugin` (the plugin actor) and `horde.actors.plugin_host` (discovery);
this module is their one public address, so plugins need not know how horde lays out its actors.
"""

from horde.actors.plugin import (
    API_VERSION,
    EventRecord,
    Note,
    Plugin,
    PluginContext,
    PluginError,
    Request,
    RunEnd,
    SetTarget,
    StopRun,
    option,
)
from horde.actors.plugin_host import available_plugins, load_plugin_class

__all__ = [
    "API_VERSION",
    "EventRecord",
    "Note",
    "Plugin",
    "PluginContext",
    "PluginError",
    "Request",
    "RunEnd",
    "SetTarget",
    "StopRun",
    "available_plugins",
    "load_plugin_class",
    "option",
]
