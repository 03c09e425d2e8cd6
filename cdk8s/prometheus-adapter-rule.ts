/**
 * The prometheus-adapter rule that serves the consumer-group lag as an External metric. The HPAs
 * of `autoscaling.mode: hpa` select it by `consumergroup` and `topic`; the adapter adds the
 * HPA's namespace. `max by partition` first: if several pods of a group each report a partition's
 * lag, it is counted once.
 */
export function prometheusAdapterRule(metricName = 'chat4all_consumergroup_lag') {
  return {
    seriesQuery: 'kafka_consumergroup_lag{namespace!="",consumergroup!="",topic!=""}',
    resources: { overrides: { namespace: { resource: 'namespace' } } },
    name: { matches: '^kafka_consumergroup_lag$', as: metricName },
    metricsQuery: 'sum by (consumergroup, topic) (max by (namespace, consumergroup, topic, partition) (<<.Series>>{<<.LabelMatchers>>}))',
  };
}

/** Values for the prometheus-community/prometheus-adapter chart (merge into yours). */
export function prometheusAdapterValues(metricName?: string) {
  return {
    prometheus: { url: 'http://kube-prometheus-stack-prometheus.monitoring.svc', port: 9090 },
    rules: { default: false, external: [prometheusAdapterRule(metricName)] },
  };
}
