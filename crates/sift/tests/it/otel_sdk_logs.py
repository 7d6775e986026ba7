"""Sends logs to sift the way an instrumented Python service does: Python's logging through
the OpenTelemetry SDK's LoggingHandler and its OTLP/HTTP exporter, configured only by the
standard OTEL_EXPORTER_OTLP_LOGS_* environment variables the test sets.

Prints the trace and span ids of the span the error was logged in, as hex."""

import logging

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

resource = Resource.create({"service.name": "checkout", "service.version": "2.1.0", "host.name": "web-7"})
logs = LoggerProvider(resource=resource)
# Simple (not batching): each record is exported, and acknowledged, before the call returns.
logs.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter()))
trace.set_tracer_provider(TracerProvider(resource=resource))

log = logging.getLogger("shop.cart")
log.setLevel(logging.DEBUG)
log.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=logs))

with trace.get_tracer("shop").start_as_current_span("pay") as span:
    log.error("payment failed for @alice", extra={"order.id": 1234, "retry": True})
    context = span.get_span_context()
log.warning("slow checkout: %d ms", 2300)
log.debug("cart loaded")
logs.shutdown()
print(format(context.trace_id, "032x"), format(context.span_id, "016x"))
