"""What a run shows and writes, assembled as plugins: which ones a run's options ask for (ADR 0008).

The console table, the CSV, JSON and HTML files and the thresholds are the built-in plugins of `horde.plugins`,
found through the same entry points (`horde.plugins` group) as anyone's; this module only turns flags into the
list of plugins a `RunSpec` carries. Order matters at the end of the run: files first, then the summary, then the
verdict.
"""

from __future__ import annotations

from typing import Any

from horde.actors.plugin import PluginError
from horde.actors.plugin_host import available_plugins, load_plugin_class
from horde.cli.options import RunOptions, UsageError

BUILTIN_ORDER = ("csv", "json", "html", "console", "thresholds")
"""The built-ins, in the order they finish; plugins named by the user come after them."""

BUILTIN_FALLBACK = {
    "console": "horde.plugins.console:ConsolePlugin",
    "csv": "horde.plugins.reports:CsvPlugin",
    "json": "horde.plugins.reports:JsonPlugin",
    "html": "horde.plugins.reports:HtmlPlugin",
    "thresholds": "horde.plugins.thresholds:ThresholdsPlugin",
}
"""Used only if horde runs from a source tree that was never installed (so it has no entry points)."""


def parse_plugin_opts(items: list[str]) -> dict[str, dict[str, str]]:
    """`--plugin-opt NAME.key=value` strings -> {NAME: {key: value}}."""
    parsed: dict[str, dict[str, str]] = {}
    for item in items:
        head, sep, value = item.partition("=")
        name, dot, key = head.partition(".")
        if not sep or not dot or not name or not key:
            raise UsageError(f"--plugin-opt {item!r}: expected NAME.key=value")
        parsed.setdefault(name.strip(), {})[key.strip()] = value
    return parsed


def plugin_list(options: RunOptions) -> list[tuple[str, dict[str, Any]]]:
    """(reference, options) of every plugin this run loads: the built-ins its flags ask for, then those named.

    A plugin is named by `--plugin NAME|module:Class`, by a `[plugins.NAME]` table, or by `--plugin-opt NAME.k=v`.
    """
    opts = parse_plugin_opts(options.plugin_opt)
    if not isinstance(options.plugin_config, dict):
        raise UsageError("plugin tables belong in [plugins.NAME] tables, not in a plugin_config option")
    tables: dict[str, dict[str, Any]] = {}
    for name, table in options.plugin_config.items():
        table = dict(table)
        if table.pop("enabled", True) is not False:
            tables[name] = table
    builtin: dict[str, dict[str, Any]] = {"console": {}}
    if options.csv:
        builtin["csv"] = {"prefix": options.csv}
    if options.json:
        builtin["json"] = {"path": options.json}
    if options.html:
        builtin["html"] = {"path": options.html}
    if options.threshold:
        builtin["thresholds"] = {"rules": list(options.threshold)}
    references: dict[str, str] = {}  # plugin name -> how to load it
    for reference in options.plugin:
        if ":" in reference:
            try:
                name, _ = load_plugin_class(reference)
            except PluginError as exc:
                raise UsageError(str(exc)) from None
            references[name] = reference
    for name in [*options.plugin, *tables, *opts]:
        if ":" not in name and name not in references:
            references[name] = name
    installed = available_plugins()
    chosen: list[tuple[str, dict[str, Any]]] = []
    for name in BUILTIN_ORDER:
        if name in builtin or name in references:
            merged = {**builtin.get(name, {}), **tables.get(name, {}), **opts.get(name, {})}
            chosen.append((name if name in installed else BUILTIN_FALLBACK[name], merged))
    for name, reference in references.items():
        if name not in BUILTIN_ORDER:
            chosen.append((reference, {**tables.get(name, {}), **opts.get(name, {})}))
    return chosen
