{{- define "sluice.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sluice.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sluice.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.secretName" -}}
{{- default (printf "%s-secrets" (include "sluice.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{/* sluice.yaml: the user's config with the API and rule files the chart provides. */}}
{{- define "sluice.config" -}}
{{- $api := dict "enabled" true "bind" "0.0.0.0" "port" (int .Values.api.port) -}}
{{- if .Values.api.tokenKey -}}
{{- $_ := set $api "token" (printf "${%s}" .Values.api.tokenKey) -}}
{{- end -}}
{{- $cfg := merge (dict "api" $api "rule_files" (list "rules/*.sql") "reload" (dict "enabled" true)) (deepCopy .Values.config) -}}
{{- toYaml $cfg -}}
{{- end -}}
