import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The pool's Prometheus metrics, on its own registry (served at /metrics). */
export function createServingMetrics(sources: { queueDepth: () => number; batchesInFlight: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'plumb_serving_' });
  const labels = ['model', 'version', 'route', 'outcome'] as const;
  return {
    registry,
    requests: new Counter({ name: 'plumb_serving_requests_total', help: 'Inference requests by model, version, route (stable/candidate/shadow/direct) and outcome', labelNames: labels, registers: [registry] }),
    latency: new Histogram({
      name: 'plumb_serving_request_duration_seconds',
      help: 'Inference latency from parsed request to answer',
      labelNames: ['model', 'version', 'route'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    httpResponses: new Counter({ name: 'plumb_serving_http_responses_total', help: 'HTTP responses by status code', labelNames: ['status'] as const, registers: [registry] }),
    inFlight: new Gauge({ name: 'plumb_serving_in_flight_requests', help: 'HTTP requests being handled', registers: [registry] }),
    queueDepth: new Gauge({
      name: 'plumb_serving_queue_depth',
      help: 'Requests waiting for an inference thread',
      registers: [registry],
      collect() {
        this.set(sources.queueDepth());
      },
    }),
    batchesInFlight: new Gauge({
      name: 'plumb_serving_batches_in_flight',
      help: 'Batches running on inference threads',
      registers: [registry],
      collect() {
        this.set(sources.batchesInFlight());
      },
    }),
    batchRows: new Histogram({ name: 'plumb_serving_batch_rows', help: 'Rows per session.run batch', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096], registers: [registry] }),
    breakerOpen: new Gauge({ name: 'plumb_serving_circuit_open', help: '1 while a version is out of rotation (breaker open or failed to load)', labelNames: ['model', 'version'] as const, registers: [registry] }),
    breakerTrips: new Counter({ name: 'plumb_serving_circuit_trips_total', help: 'Times a version was taken out of rotation', labelNames: ['model', 'version', 'reason'] as const, registers: [registry] }),
    loadFailures: new Counter({ name: 'plumb_serving_load_failures_total', help: 'Model versions that failed to load', labelNames: ['model', 'version'] as const, registers: [registry] }),
    generation: new Gauge({ name: 'plumb_serving_assignment_generation', help: 'Generation of the applied assignment', registers: [registry] }),
    logWritten: new Counter({ name: 'plumb_serving_prediction_log_records_total', help: 'Prediction-log records written to Parquet', registers: [registry] }),
    logDropped: new Counter({ name: 'plumb_serving_prediction_log_dropped_total', help: 'Prediction-log records dropped because writing fell behind', registers: [registry] }),
  };
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
