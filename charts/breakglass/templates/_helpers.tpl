{{/* Name of the chart. */}}
{{- define "breakglass.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-prefixed unless the release is already called breakglass. */}}
{{- define "breakglass.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "breakglass.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "breakglass.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "breakglass.selectorLabels" -}}
app.kubernetes.io/name: {{ include "breakglass.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "breakglass.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "breakglass.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret holding the webhook serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "breakglass.webhookSecret" -}}
{{- printf "%s-webhook-tls" (include "breakglass.fullname" .) }}
{{- end }}

{{/* The breakglass resources (plural names as in config/crd) the admission webhooks see. */}}
{{- define "breakglass.webhookRules" -}}
- apiGroups: ["breakglass.t-caas.telekom.com"]
  apiVersions: ["v1alpha1"]
  operations: ["CREATE", "UPDATE"]
  resources:
    - auditconfigs
    - breakglassescalations
    - breakglasssessions
    - clusterconfigs
    - debugpodtemplates
    - debugsessionclusterbindings
    - debugsessions
    - debugsessiontemplates
    - denypolicies
    - identityproviders
    - mailproviders
  scope: "*"
{{- end }}

{{/* The server config file: values.config with the listeners set from the chart. */}}
{{- define "breakglass.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $server := default dict $config.server }}
{{- $_ := set $server "listenAddress" (printf ":%v" .Values.service.port) }}
{{- if .Values.webhook.enabled }}
{{- $_ := set $server "tls" (dict "listenAddress" (printf ":%v" .Values.webhook.port) "certFile" "/etc/breakglass/tls/tls.crt" "keyFile" "/etc/breakglass/tls/tls.key") }}
{{- end }}
{{- $_ := set $config "server" $server }}
{{- toYaml $config }}
{{- end }}
