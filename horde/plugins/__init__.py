"""horde's built-in plugins, on the same API as anyone's (horde.plugin, docs/plugins.md).

The reporters (`console`, `csv`, `json`, `html`) and `thresholds` are what a plain `horde run` uses; `prometheus`
and `failure_guard` are examples that are shipped and tested. All are registered under the entry-point group
`horde.plugins` in pyproject.toml, the same way a third-party plugin is.
"""
