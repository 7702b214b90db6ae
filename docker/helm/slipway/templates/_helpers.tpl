{{/* Names: "<release>-slipway" unless the release name already contains "slipway". */}}
{{- define "slipway.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "slipway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: include "slipway.selector" (list . "web"). */}}
{{- define "slipway.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "slipway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "slipway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "slipway.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Host names: config.allowedHosts, else the Ingress hosts; an install without either is refused. */}}
{{- define "slipway.allowedHosts" -}}
{{- $hosts := .Values.config.allowedHosts -}}
{{- if and (not $hosts) .Values.ingress.enabled -}}{{- $hosts = .Values.ingress.hosts -}}{{- end -}}
{{- if not $hosts -}}
{{- fail "config.allowedHosts is empty and there is no Ingress host: set config.allowedHosts to the portal's host names (Django refuses every request otherwise)" -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{/* The Host header probes send: the first allowed host ("." wildcard prefix removed). */}}
{{- define "slipway.probeHost" -}}
{{- $first := first (splitList "," (include "slipway.allowedHosts" .)) | trimPrefix "." -}}
{{- if eq $first "*" -}}localhost{{- else -}}{{ $first }}{{- end -}}
{{- end -}}

{{/* Non-secret settings as a flat NAME: value map (YAML), shared by the ConfigMap and the migration hook. */}}
{{- define "slipway.config" -}}
{{- $c := .Values.config -}}
{{- $firstHost := "" -}}
{{- if and .Values.ingress.enabled .Values.ingress.hosts -}}{{- $firstHost = first .Values.ingress.hosts -}}{{- end -}}
SLIPWAY_ENV: production
ALLOWED_HOSTS: {{ include "slipway.allowedHosts" . | quote }}
{{- $origins := $c.csrfTrustedOrigins -}}
{{- if and (not $origins) .Values.ingress.enabled -}}
{{- $origins = list -}}
{{- range .Values.ingress.hosts -}}{{- $origins = append $origins (printf "https://%s" .) -}}{{- end -}}
{{- end }}
CSRF_TRUSTED_ORIGINS: {{ join "," $origins | quote }}
SECURE_PROXY_SSL_HEADER: {{ $c.secureProxySslHeader | quote }}
SLIPWAY_TRUSTED_PROXIES: {{ $c.trustedProxies | quote }}
SLIPWAY_WAKE_ADDRESS: {{ default (printf "%s-web.%s.svc.cluster.local:%v" (include "slipway.fullname" .) .Release.Namespace .Values.service.port) $c.wakeAddress | quote }}
{{- if or $c.baseUrl $firstHost }}
SLIPWAY_BASE_URL: {{ default (printf "https://%s" $firstHost) $c.baseUrl | quote }}
{{- end }}
LOG_LEVEL: {{ $c.logLevel | quote }}
SLIPWAY_LOG_FORMAT: {{ $c.logFormat | quote }}
{{- if .Values.metrics.enabled }}
SLIPWAY_WORKER_METRICS_PORT: {{ .Values.metrics.workerPort | quote }}
# A prefork worker's child processes keep their figures in files here (an emptyDir: new with each pod).
PROMETHEUS_MULTIPROC_DIR: /app/metrics
{{- end }}
AWS_DEFAULT_REGION: {{ $c.awsRegion | quote }}
SLIPWAY_VAR_DIR: /app/var
{{- range $name, $value := $c.extra }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Environment from the existing Secret, by key. */}}
{{- define "slipway.secretEnv" -}}
{{- $secret := .Values.existingSecret -}}
{{- range $name, $key := $secret.keys }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef: {name: {{ $secret.name | quote }}, key: {{ $key | quote }}}
{{- end }}
{{- range $secret.optionalKeys }}
- name: {{ . }}
  valueFrom:
    secretKeyRef: {name: {{ $secret.name | quote }}, key: {{ . | quote }}, optional: true}
{{- end }}
{{- end -}}

{{/* What every Slipway container shares: image, settings, security context, writable emptyDirs.
     include "slipway.containerCommon" (list . false); true puts the settings inline instead of the
     ConfigMap's, for the pre-install hook that runs before the ConfigMap exists. */}}
{{- define "slipway.containerCommon" -}}
{{- $root := index . 0 -}}
{{- $inline := index . 1 -}}
image: {{ include "slipway.image" $root }}
imagePullPolicy: {{ $root.Values.image.pullPolicy }}
{{- if or (not $inline) $root.Values.extraEnvFrom }}
envFrom:
  {{- if not $inline }}
  - configMapRef: {name: {{ include "slipway.fullname" $root }}}
  {{- end }}
  {{- with $root.Values.extraEnvFrom }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
env:
  {{- if $inline }}
  {{- range $name, $value := include "slipway.config" $root | fromYaml }}
  - {name: {{ $name }}, value: {{ $value | toString | quote }}}
  {{- end }}
  {{- end }}
  {{- include "slipway.secretEnv" $root | trim | nindent 2 }}
securityContext:
  {{- toYaml $root.Values.securityContext | nindent 2 }}
volumeMounts:
  - {name: tmp, mountPath: /tmp}
  - {name: var, mountPath: /app/var}
  - {name: home, mountPath: /home/slipway}
  - {name: metrics, mountPath: /app/metrics}
  {{- if $root.Values.terraform.existingClaim }}
  - {name: terraform, mountPath: /app/var/terraform}
  {{- end }}
{{- end -}}

{{/* The pod-level part every Slipway pod shares. */}}
{{- define "slipway.podCommon" -}}
serviceAccountName: {{ include "slipway.serviceAccountName" . }}
# Slipway reaches clusters through the kubeconfigs registered in it, never this pod's own token.
automountServiceAccountToken: false
{{ include "slipway.podBase" . }}
{{- end -}}

{{/* Security context, pull secrets and the writable emptyDirs (the migration hook uses only this). */}}
{{- define "slipway.podBase" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - {name: tmp, emptyDir: {}}
  - {name: var, emptyDir: {}}
  - {name: home, emptyDir: {}}
  - {name: metrics, emptyDir: {}}
  {{- with .Values.terraform.existingClaim }}
  - {name: terraform, persistentVolumeClaim: {claimName: {{ . | quote }}}}
  {{- end }}
{{- end -}}

{{/* nodeSelector/tolerations/affinity of one component's values. */}}
{{- define "slipway.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Pod annotations: a checksum of the settings, so a changed ConfigMap rolls the pods. */}}
{{- define "slipway.configChecksum" -}}
checksum/config: {{ include "slipway.config" . | sha256sum }}
{{- end -}}
