"""The timeline `horde replay --timeline` prints, from `horde.protocol.timeline` where the reports read it too."""

from horde.protocol.timeline import TIMELINE_DECODERS, StatsReportedErrors, TimelineEntry, timeline

__all__ = ["TIMELINE_DECODERS", "StatsReportedErrors", "TimelineEntry", "timeline"]
