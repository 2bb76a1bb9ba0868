// OpenTelemetry tracing, on only when the standard OTEL_* variables ask for it: spans for HTTP requests
// (@fastify/otel) and for each WebSocket message echoed, exported over OTLP/HTTP. Off, nothing here is
// even loaded, and the WebSocket path pays one null check.
import type { FastifyPluginCallback } from 'fastify'
import type { Tracer } from '@opentelemetry/api'
import { VERSION } from '../echo/identity.ts'

export interface Tracing {
  /** register before every route so each is instrumented */
  plugin: FastifyPluginCallback
  tracer: Tracer
  /** flushes the spans still queued, then stops */
  shutdown: () => Promise<void>
}

/** True when the environment configures trace export (the SDK's own variables, nothing echoscope-specific). */
export function tracingWanted (env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false
  if (env.OTEL_TRACES_EXPORTER === 'none') return false
  return env.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined || env.OTEL_TRACES_EXPORTER === 'otlp'
}

export async function setupTracing (): Promise<Tracing> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { FastifyOtelInstrumentation }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@fastify/otel'),
    import('@opentelemetry/resources')
  ])
  // echoscope by default; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override (they are merged last).
  const resource = resources.defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': 'echoscope', 'service.version': VERSION }))
    .merge(resources.detectResources({ detectors: [resources.envDetector, resources.hostDetector] }))
  // The exporter reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout); the batch processor OTEL_BSP_*;
  // the resource OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] })
  // Global registration installs the W3C trace-context propagator, so an incoming traceparent is continued.
  provider.register()
  const instrumentation = new FastifyOtelInstrumentation({ registerOnInitialization: false })
  instrumentation.setTracerProvider(provider)
  return {
    plugin: instrumentation.plugin() as unknown as FastifyPluginCallback,
    tracer: provider.getTracer('echoscope', VERSION),
    shutdown: () => provider.shutdown()
  }
}
