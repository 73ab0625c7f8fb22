"""OpenTelemetry test scaffolding: an SDK tracer and meter provider that keep everything in
memory, and ways to read back what the client recorded. The SDK is a test-only dependency.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from helios_async import Telemetry


class Recorded:
    """Providers of their own (never the global ones), and what they recorded."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def telemetry(self, **options: Any) -> Telemetry:
        return Telemetry(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **options
        )

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    # -- spans ---------------------------------------------------------------------------

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if span.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        return [span.name for span in self.spans()]

    def children(self, parent: ReadableSpan) -> list[ReadableSpan]:
        """The spans whose parent is ``parent``, in the order they started."""
        found = [
            span
            for span in self.spans()
            if span.parent is not None and span.parent.span_id == parent.context.span_id
        ]
        return sorted(found, key=lambda span: span.start_time or 0)

    def tree(self, root: ReadableSpan, depth: int = 0) -> list[str]:
        """``root`` and its descendants as indented names, in start order."""
        lines = ["  " * depth + root.name]
        for child in self.children(root):
            lines += self.tree(child, depth + 1)
        return lines

    # -- metrics ---------------------------------------------------------------------------

    def points(self, name: str) -> list[Any]:
        """The data points of metric ``name`` (histogram or sum), collected now."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += list(metric.data.data_points)
        return found

    def metric_names(self) -> set[str]:
        data = self.reader.get_metrics_data()
        return {
            metric.name
            for resource in (data.resource_metrics if data is not None else ())
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }

    def all_text(self) -> Iterator[str]:
        """Every string the spans, their events and the metrics carry: names, attribute
        keys and values, status descriptions, for scanning."""
        for span in self.spans():
            yield span.name
            yield span.status.description or ""
            yield from _texts(span.attributes)
            for event in span.events:
                yield event.name
                yield from _texts(event.attributes)
            for link in span.links:
                yield from _texts(link.attributes)
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    yield metric.name
                    yield metric.description or ""
                    for point in metric.data.data_points:
                        yield from _texts(point.attributes)


def _texts(attributes: Any) -> Iterator[str]:
    for key, value in (attributes or {}).items():
        yield str(key)
        if isinstance(value, list | tuple):
            yield from (str(item) for item in value)
        else:
            yield str(value)
