{{/* The agent's collector config (ConfigMap otel-collector-agent). Checked by `otelcol validate` in lab/platform/tests/helm.rs. */}}
{{- define "iss.agentConfig" -}}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  # First, so that under memory pressure data is refused at the receiver
  # (the SDKs retry) instead of the agent being OOM-killed; relative to the
  # container's memory limit.
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch:
    send_batch_size: 8192
    # Bounded: the gateways' receivers take up to 32 MiB, 8192 spans of 4 KiB.
    send_batch_max_size: 8192
    timeout: 2s
exporters:
  # Every span of a trace to one gateway (routing by trace ID), the only way
  # a gateway can tail-sample whole traces; logs follow their trace, metrics
  # stay together per service. The dns resolver asks for the headless
  # Service's pod addresses every resolverInterval, so gateways joining or
  # leaving change the ring without an agent restart.
  {{- range $name, $key := dict "traces" "traceID" "metrics" "service" }}
  load_balancing/{{ $name }}:
    routing_key: {{ $key }}
    protocol:
      otlp:
        tls:
          insecure: true
        # No queue per gateway, so that a failure comes back to the load
        # balancer's queue below (a per-gateway queue is dropped, unseen but
        # in the log, when its gateway leaves the ring).
        sending_queue:
          enabled: false
        retry_on_failure:
          enabled: true
          max_elapsed_time: {{ $.Values.collector.agent.retryMaxElapsedTime }}
    # Back to the load balancer once a gateway's own retries are spent: it
    # re-routes to whichever gateway owns the trace in the current ring.
    sending_queue:
      enabled: {{ $.Values.collector.agent.sendingQueue.enabled }}
      num_consumers: {{ $.Values.collector.agent.sendingQueue.numConsumers }}
      queue_size: {{ $.Values.collector.agent.sendingQueue.queueSize }}
    retry_on_failure:
      enabled: true
      max_elapsed_time: {{ $.Values.collector.agent.retryMaxElapsedTime }}
    resolver:
      dns:
        hostname: otel-collector-gateway-headless.{{ $.Release.Namespace }}.svc.cluster.local
        port: "4317"
        interval: {{ $.Values.collector.agent.resolverInterval }}
  {{- end }}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
    path: /
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [load_balancing/traces]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [load_balancing/metrics]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [load_balancing/traces]
  telemetry:
    metrics:
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 8888
{{- end -}}

{{/* The gateway's collector config (ConfigMap otel-collector-gateway): otel-collector/gateway.yaml with the chart's values. */}}
{{- define "iss.gatewayConfig" -}}
{{- $gw := .Values.collector.gateway -}}
{{- $sampling := $gw.sampling -}}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
        # The agents' batches of up to 8192 spans exceed gRPC's default 4 MiB.
        max_recv_msg_size_mib: 32
      http:
        endpoint: 0.0.0.0:4318
connectors:
  # From every span, before sampling: span metrics and the service graph
  # stay exact whatever share of traces is kept.
  span_metrics:
    namespace: traces.spanmetrics
    # Every 15 s, Prometheus' scrape interval (the default 60 s leaves a
    # dashboard's 1m rate window with one sample).
    metrics_flush_interval: 15s
    histogram:
      unit: s
      explicit:
        buckets: [1ms, 2.5ms, 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s, 10s]
    dimensions:
      - name: http.route
      - name: http.request.method
      - name: http.response.status_code
    exemplars:
      enabled: true
  service_graph:
    metrics_flush_interval: 15s
    latency_histogram_buckets: [1ms, 2.5ms, 5ms, 10ms, 25ms, 50ms, 100ms, 250ms, 500ms, 1s, 2.5s, 5s, 10s]
    store:
      ttl: 30s
      max_items: 10000
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  tail_sampling:
    decision_wait: {{ $sampling.decisionWait }}
    num_traces: {{ $sampling.numTraces }}
    expected_new_traces_per_sec: {{ $sampling.expectedNewTracesPerSec }}
    policies:
      - name: errors
        type: status_code
        status_code:
          status_codes: [ERROR]
      - name: slow
        type: latency
        latency:
          threshold_ms: {{ $sampling.slowThresholdMs }}
      - name: share
        type: probabilistic
        probabilistic:
          sampling_percentage: {{ $sampling.percentage }}
  batch:
    send_batch_size: 8192
    timeout: 2s
  # Names the gateway (its pod) on the series it computes from spans: each
  # gateway counts only the traces routed to it, and two gateways writing
  # one series would look to Prometheus like one counter that keeps resetting.
  attributes/collector_instance:
    actions:
      - key: collector.instance.id
        value: ${env:OTELCOL_INSTANCE_ID:-otel-collector-gateway}
        action: upsert
exporters:
  {{- range $name := list "tempo" "prometheus" "loki" }}
  {{- $spec := index $gw.exporters $name }}
  {{ include "iss.exporterId" (dict "name" $name "spec" $spec) }}:
    endpoint: {{ $spec.endpoint | quote }}
    tls:
      insecure: {{ $spec.insecure }}
    # On file_storage: what is enqueued survives a crash of the pod.
    sending_queue:
      enabled: {{ $gw.sendingQueue.enabled }}
      num_consumers: {{ $gw.sendingQueue.numConsumers }}
      queue_size: {{ $gw.sendingQueue.queueSize }}
      storage: file_storage/queue
      {{- if eq $name "tempo" }}
      # Traces have no batch processor in front: the queue batches, so a
      # span is on disk as soon as its trace is decided. By size: a gRPC
      # backend at its defaults (Tempo) refuses messages over 4 MiB.
      batch:
        flush_timeout: 2s
        sizer: bytes
        min_size: 1048576
        max_size: 3145728
      {{- end }}
    retry_on_failure:
      enabled: true
      max_elapsed_time: {{ $gw.retryMaxElapsedTime }}
  {{- end }}
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
    path: /
  # On the pod's queue volume (a PVC or an emptyDir: values persistence).
  file_storage/queue:
    directory: /var/lib/otelcol/queue
    create_directory: true
    compaction:
      on_start: true
      directory: /var/lib/otelcol/queue
service:
  extensions: [health_check, file_storage/queue]
  pipelines:
    traces/all:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [span_metrics, service_graph]
    traces:
      receivers: [otlp]
      processors: [memory_limiter, tail_sampling]
      exporters: [{{ include "iss.exporterId" (dict "name" "tempo" "spec" $gw.exporters.tempo) }}]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [{{ include "iss.exporterId" (dict "name" "prometheus" "spec" $gw.exporters.prometheus) }}]
    metrics/from_spans:
      receivers: [span_metrics, service_graph]
      processors: [attributes/collector_instance, batch]
      exporters: [{{ include "iss.exporterId" (dict "name" "prometheus" "spec" $gw.exporters.prometheus) }}]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [{{ include "iss.exporterId" (dict "name" "loki" "spec" $gw.exporters.loki) }}]
  telemetry:
    metrics:
      # "normal" includes the refused/failed counters the collector dashboard uses.
      level: normal
      readers:
        - pull:
            exporter:
              prometheus:
                host: 0.0.0.0
                port: 8888
{{- end -}}
