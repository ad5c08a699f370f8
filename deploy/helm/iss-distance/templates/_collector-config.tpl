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
    timeout: 2s
exporters:
  # The headless Service resolves to every gateway pod and round_robin
  # spreads the long-lived gRPC streams over them (a ClusterIP would pin each
  # agent to one gateway pod).
  otlp_grpc/gateway:
    endpoint: dns:///otel-collector-gateway-headless:4317
    balancer_name: round_robin
    tls:
      insecure: true
    {{- include "iss.queueAndRetry" .Values.collector.agent | nindent 4 }}
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
      exporters: [otlp_grpc/gateway]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp_grpc/gateway]
    logs:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [otlp_grpc/gateway]
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

{{/* The gateway's collector config (ConfigMap otel-collector-gateway), mirroring otel-collector/config.yaml. */}}
{{- define "iss.gatewayConfig" -}}
{{- $gw := .Values.collector.gateway -}}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch:
    send_batch_size: 8192
    timeout: 2s
exporters:
  {{- range $name := list "tempo" "prometheus" "loki" }}
  {{- $spec := index $gw.exporters $name }}
  {{ include "iss.exporterId" (dict "name" $name "spec" $spec) }}:
    endpoint: {{ $spec.endpoint | quote }}
    tls:
      insecure: {{ $spec.insecure }}
    {{- include "iss.queueAndRetry" $gw | nindent 4 }}
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
      exporters: [{{ include "iss.exporterId" (dict "name" "tempo" "spec" $gw.exporters.tempo) }}]
    metrics:
      receivers: [otlp]
      processors: [memory_limiter, batch]
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
