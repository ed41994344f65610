{{/* Labels every object of the chart carries. */}}
{{- define "ferrolb.labels" -}}
app.kubernetes.io/name: ferrolb
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Selector labels of one component: include "ferrolb.selector" (list . "operator") */}}
{{- define "ferrolb.selector" -}}
app.kubernetes.io/name: ferrolb
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The image of one component: include "ferrolb.image" (list . "operator") */}}
{{- define "ferrolb.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/%s:%s" $root.Values.image.registry (index . 1) (default $root.Chart.AppVersion $root.Values.image.tag) -}}
{{- end }}

{{/* A restricted container security context. */}}
{{- define "ferrolb.restricted" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 65532
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The flags of a component's metrics endpoint: HTTPS for authorized scrapers unless plain
HTTP is chosen, with the certificate of prometheus.metricsTlsSecret when one is named. */}}
{{- define "ferrolb.metricsArgs" -}}
{{- if .Values.prometheus.plainHttpMetrics }}
- --metrics-plain-http
{{- else if .Values.prometheus.metricsTlsSecret }}
- --metrics-tls-cert=/metrics-tls/tls.crt
- --metrics-tls-key=/metrics-tls/tls.key
{{- end }}
{{- end }}

{{/* The volume mount and volume of prometheus.metricsTlsSecret, when HTTPS uses it. */}}
{{- define "ferrolb.metricsTlsMount" -}}
{{- if and (not .Values.prometheus.plainHttpMetrics) .Values.prometheus.metricsTlsSecret }}
- name: metrics-tls
  mountPath: /metrics-tls
  readOnly: true
{{- end }}
{{- end }}
{{- define "ferrolb.metricsTlsVolume" -}}
{{- if and (not .Values.prometheus.plainHttpMetrics) .Values.prometheus.metricsTlsSecret }}
- name: metrics-tls
  secret:
    secretName: {{ .Values.prometheus.metricsTlsSecret }}
{{- end }}
{{- end }}

{{/* What every component needs to judge a scrape of its /metrics: who the token is, and
whether that user may get /metrics. */}}
{{- define "ferrolb.scrapeReviewRules" -}}
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
{{- end }}
