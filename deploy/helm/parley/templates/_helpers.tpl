{{/* The prefix of every object's name: "<release>-parley", or the release
name when it already says parley. */}}
{{- define "parley.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains "parley" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-parley" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object; "component" names the service. */}}
{{- define "parley.labels" -}}
{{ include "parley.selector" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* The labels a Service, a PodDisruptionBudget and a Deployment select by. */}}
{{- define "parley.selector" -}}
app.kubernetes.io/name: parley
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "parley.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Whether the api has PostgreSQL: several replicas need it. */}}
{{- define "parley.postgres" -}}
{{- if or .Values.database.url .Values.postgresql.enabled }}true{{ end -}}
{{- end -}}

{{/* The Redis URL the api gets, "" for none. */}}
{{- define "parley.redisURL" -}}
{{- if .Values.redis.url -}}
{{- .Values.redis.url -}}
{{- else if .Values.redisServer.enabled -}}
{{- printf "redis://%s-redis:6379/0" (include "parley.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The in-cluster PostgreSQL's password: the value, else the one made
at install (kept in its Secret), else a new one. */}}
{{/* The bearer key the api sends to the model services (their
     --api-key): values.modelKey, else one set in secretEnv for either
     side, else the one an earlier install made, else a new random one,
     made once per render so both Secrets agree. */}}
{{- define "parley.modelKey" -}}
{{- if .Values.modelKey -}}
{{- .Values.modelKey -}}
{{- else if (index .Values.secretEnv.api "PARLEY_MODEL_KEY") -}}
{{- index .Values.secretEnv.api "PARLEY_MODEL_KEY" -}}
{{- else if (index .Values.secretEnv.model "PARLEY_API_KEY") -}}
{{- index .Values.secretEnv.model "PARLEY_API_KEY" -}}
{{- else -}}
{{- $s := lookup "v1" "Secret" .Release.Namespace (printf "%s-model" (include "parley.fullname" .)) -}}
{{- if and $s $s.data (index $s.data "PARLEY_API_KEY") -}}
{{- index $s.data "PARLEY_API_KEY" | b64dec -}}
{{- else -}}
{{- if not .Values._generatedModelKey -}}
{{- $_ := set .Values "_generatedModelKey" (printf "pmk-%s" (randAlphaNum 40)) -}}
{{- end -}}
{{- .Values._generatedModelKey -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "parley.postgresPassword" -}}
{{- if .Values.postgresql.password -}}
{{- .Values.postgresql.password -}}
{{- else -}}
{{- $s := lookup "v1" "Secret" .Release.Namespace (printf "%s-postgresql" (include "parley.fullname" .)) -}}
{{- if and $s $s.data (index $s.data "POSTGRES_PASSWORD") -}}
{{- index $s.data "POSTGRES_PASSWORD" | b64dec -}}
{{- else -}}
{{- /* Computed once per render: the api's URL and the server's
     Secret must agree. */ -}}
{{- if not .Values._generatedPassword -}}
{{- $_ := set .Values "_generatedPassword" (randAlphaNum 32) -}}
{{- end -}}
{{- .Values._generatedPassword -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The parts of a pod spec every service shares. */}}
{{- define "parley.podCommon" -}}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .root.Values.terminationGracePeriodSeconds }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The environment every Parley container has, then the service's own
settings (.env), then its extra ones from values. */}}
{{- define "parley.env" -}}
- name: PARLEY_ADDR
  value: {{ printf "0.0.0.0:%v" .values.port | quote }}
- name: PARLEY_LOG_FORMAT
  value: {{ .root.Values.log.format | quote }}
- name: PARLEY_LOG_LEVEL
  value: {{ .root.Values.log.level | quote }}
{{- range $name, $value := .env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- range $name, $value := .values.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Where a service's container reads its sensitive settings: the
chart's Secret, then the one you manage, whose keys win. */}}
{{- define "parley.envFrom" -}}
- secretRef:
    name: {{ include "parley.fullname" .root }}-{{ .component }}
{{- with index .root.Values.existingSecret .component }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{/* A service's Secret: the chart's settings (.data), then its
secretEnv. */}}
{{- define "parley.secret" -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "parley.fullname" .root }}-{{ .component }}
  labels:
    {{- include "parley.labels" . | nindent 4 }}
type: Opaque
{{- if not (or .data (index .root.Values.secretEnv .component)) }}
stringData: {}
{{- else }}
stringData:
  {{- range $name, $value := .data }}
  {{ $name }}: {{ $value | toString | quote }}
  {{- end }}
  {{- range $name, $value := index .root.Values.secretEnv .component }}
  {{ $name }}: {{ $value | toString | quote }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* A container's probes: alive on /healthz, ready on .ready. */}}
{{- define "parley.probes" -}}
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: {path: {{ .ready }}, port: http}
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 2
{{- end -}}

{{/* An HPA for a Deployment, when its values enable one. */}}
{{- define "parley.hpa" -}}
{{- if .values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "parley.fullname" .root }}-{{ .component }}
  labels:
    {{- include "parley.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "parley.fullname" .root }}-{{ .component }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for a Deployment, when its values enable one. */}}
{{- define "parley.pdb" -}}
{{- if .values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "parley.fullname" .root }}-{{ .component }}
  labels:
    {{- include "parley.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "parley.selector" . | nindent 6 }}
{{- end }}
{{- end -}}
