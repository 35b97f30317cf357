import { AggregatorRegistry } from 'prom-client'

/**
 * One exposition of several workers' metrics (each `registry.getMetricsAsJSON()`), summed as prom-client's
 * AggregatorRegistry does for node:cluster: counters, histograms and gauges add up (sessions, connections,
 * turns of the whole machine); a metric's own `aggregator` (the default metrics') wins.
 */
export async function aggregateMetrics (snapshots: unknown[]): Promise<{ contentType: string, body: string }> {
  const registry = AggregatorRegistry.aggregate(snapshots.filter(Array.isArray))
  return { contentType: registry.contentType, body: await registry.metrics() }
}
