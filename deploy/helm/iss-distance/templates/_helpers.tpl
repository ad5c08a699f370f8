{{/*
Resource names are the compose service names (frontend, gateway, geolocator,
iss-distance, ...): the services find each other by them, exactly as in
docker-compose-services.yml, so one release per namespace.
*/}}

{{/* Labels every object carries: (dict "root" $), plus "name" for a component's objects. */}}
{{- define "iss.labels" -}}
{{ with .name }}app.kubernetes.io/name: {{ . }}
{{ end -}}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: iss-distance-app
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "name" "gateway"). */}}
{{- define "iss.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/* The image of a service's Dockerfile target. */}}
{{- define "iss.image" -}}
{{- $repo := printf "%s/%s" .root.Values.image.repositoryPrefix .name -}}
{{- if .root.Values.image.registry -}}{{- $repo = printf "%s/%s" .root.Values.image.registry $repo -}}{{- end -}}
{{- printf "%s:%s" $repo (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* The collector image (Dockerfile target otel-collector). */}}
{{- define "iss.collectorImage" -}}
{{- $repo := .Values.collector.image.repository -}}
{{- if .Values.image.registry -}}{{- $repo = printf "%s/%s" .Values.image.registry $repo -}}{{- end -}}
{{- printf "%s:%s" $repo .Values.collector.image.tag -}}
{{- end -}}

{{/* The agent's OTLP port for the services' protocol. */}}
{{- define "iss.otlpPort" -}}
{{- if eq .Values.otlp.protocol "grpc" -}}4317{{- else -}}4318{{- end -}}
{{- end -}}

{{/* Pod security context shared by every pod: non-root, RuntimeDefault seccomp. */}}
{{- define "iss.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Container security context shared by every container. */}}
{{- define "iss.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/*
One exporter of the collector gateway: (dict "name" "tempo" "spec" .Values...exporters.tempo "queue" ... "retry" ...).
The protocol picks the component: otlp_grpc or otlp_http.
*/}}
{{- define "iss.exporterId" -}}
{{- if eq .spec.protocol "grpc" -}}otlp_grpc/{{ .name }}{{- else -}}otlp_http/{{ .name }}{{- end -}}
{{- end -}}
