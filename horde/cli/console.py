"""What a run shows and writes, assembled as plugins: which ones a run's options ask for (ADR 0008).

The console table, the CSV, JSON and HTML files and the thresholds are the built-in plugins of `horde.plugins`,
found through the same entry points (`horde.plugins` group) as anyone's; this module only turns flags into the
list of plugins a `RunSpec` carries. Order matters at the end of the run: files first, then the summary, then the
verdict.
"""

from __future__ import annotations

from typing import Any

from horde.actors.plugin_host import available_plugins
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


def plugin_list(options: RunOptions) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The plugins a run's options ask for: `(reference, options)` of each chosen one, in the order they finish,
    and the options given by plugin name, which the plugin host applies to the plugin of that name.

    A plugin is chosen by a flag of a built-in (`--csv`, `--json`, ...), by `--plugin NAME|module:Class`, or only
    by name through a `[plugins.NAME]` table or `--plugin-opt NAME.k=v`. The name of a `module:Class` is the
    class's own, known once it is loaded: the host loads it, so this module imports no user code.
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
        builtin["csv"] = {"prefix": options.csv, **({"full_history": True} if options.csv_full_history else {})}
    if options.json or options.json_file or options.summary_json:
        builtin["json"] = {
            **({"path": options.json_file} if options.json_file else {}),
            **({"summary": options.summary_json} if options.summary_json else {}),
            **({"stdout": True} if options.json else {}),
        }
    if options.html:
        builtin["html"] = {"path": html_file_name(options)}
    if options.threshold:
        builtin["thresholds"] = {"rules": list(options.threshold)}
    named = {name: {**tables.get(name, {}), **opts.get(name, {})} for name in [*tables, *opts]}
    asked = {*builtin, *named, *options.plugin}
    installed = available_plugins()
    chosen = [
        (name if name in installed else BUILTIN_FALLBACK[name], builtin.get(name, {}))
        for name in BUILTIN_ORDER
        if name in asked
    ]
    chosen += [(reference, {}) for reference in dict.fromkeys(options.plugin) if reference not in BUILTIN_ORDER]
    return chosen, named


def html_file_name(options: RunOptions) -> str:
    """Locust's placeholders in the `--html` name: `{u}` users, `{r}` spawn rate, `{t}` run time in seconds, so a
    series of runs writes a report each (`report_{u}u.html`); whole numbers are written without a decimal point."""
    name = options.html or ""
    for placeholder, value in (("{u}", options.users), ("{r}", options.spawn_rate), ("{t}", options.run_time)):
        if value is not None:
            name = name.replace(placeholder, str(int(value)) if float(value).is_integer() else str(value))
    return name
