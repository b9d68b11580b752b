{{/* Names, labels and the facts more than one template needs, each defined once here. */}}

{{- define "scheduler-ext.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scheduler-ext.fullname" -}}
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

{{- define "scheduler-ext.schedulerFullname" -}}
{{- printf "%s-scheduler" (include "scheduler-ext.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scheduler-ext.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "scheduler-ext.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "extender"). */}}
{{- define "scheduler-ext.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scheduler-ext.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "scheduler-ext.componentLabels" -}}
{{ include "scheduler-ext.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "scheduler-ext.serviceAccountName" -}}
{{- default (include "scheduler-ext.fullname" .) .Values.extender.serviceAccount.name }}
{{- end }}

{{- define "scheduler-ext.schedulerServiceAccountName" -}}
{{- default (include "scheduler-ext.schedulerFullname" .) .Values.scheduler.serviceAccount.name }}
{{- end }}

{{- define "scheduler-ext.image" -}}
{{- printf "%s:%s" .Values.extender.image.repository (default .Chart.AppVersion .Values.extender.image.tag) }}
{{- end }}

{{/* The Service's in-cluster DNS name: the extender's urlPrefix host and its certificate's name. */}}
{{- define "scheduler-ext.serviceHost" -}}
{{- printf "%s.%s.svc" (include "scheduler-ext.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "scheduler-ext.tlsSecret" -}}
{{- printf "%s-tls" (include "scheduler-ext.fullname" .) }}
{{- end }}

{{- define "scheduler-ext.schedulerTlsSecret" -}}
{{- printf "%s-tls" (include "scheduler-ext.schedulerFullname" .) }}
{{- end }}

{{/* Where the extender reads its settings and certificates, and kube-scheduler its own. */}}
{{- define "scheduler-ext.configDir" -}}/etc/scheduler-ext/config{{- end }}
{{- define "scheduler-ext.tlsDir" -}}/etc/scheduler-ext/tls{{- end }}
{{- define "scheduler-ext.schedulerConfigDir" -}}/etc/kubernetes/scheduler{{- end }}
{{- define "scheduler-ext.schedulerTlsDir" -}}/etc/kubernetes/scheduler-ext-tls{{- end }}

{{/*
The extender's ClusterRole rules, one list for every mode (docs/rbac.md explains each). dry-run:
what deploy/rbac.yaml grants; enforce adds what executing plans needs.
*/}}
{{- define "scheduler-ext.rules" -}}
- apiGroups: [""]
  resources: [nodes, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch]
- apiGroups: [scheduling.k8s.io]
  resources: [priorityclasses]
  verbs: [list, watch]
- apiGroups: [""]
  resources: [bindings]
  verbs: [create]
{{- if eq .Values.mode "enforce" }}
- apiGroups: [""]
  resources: [pods/eviction]
  verbs: [create]
- apiGroups: [""]
  resources: [pods]
  verbs: [patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end }}
{{- end }}

{{/* The extender's own objects in its namespace (deploy/rbac.yaml's Role): its PackingPlans, its Lease. */}}
{{- define "scheduler-ext.ownRules" -}}
- apiGroups: [scheduler-ext.io]
  resources: [packingplans]
  verbs: [list, watch, create, delete]
- apiGroups: [scheduler-ext.io]
  resources: [packingplans/status]
  verbs: [patch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [{{ .Values.extender.leaderElection.leaseName }}]
  verbs: [get, update]
{{- end }}

{{/* The verbs kube-scheduler calls: scheduler.extender.verbs, else by mode. */}}
{{- define "scheduler-ext.verbs" -}}
{{- if .Values.scheduler.extender.verbs }}
{{- toJson .Values.scheduler.extender.verbs }}
{{- else if eq .Values.mode "enforce" }}
{{- toJson (list "filter" "prioritize" "preempt" "bind") }}
{{- else }}
{{- toJson (list "prioritize" "preempt") }}
{{- end }}
{{- end }}

{{/* Pod and container security contexts shared by every pod of the chart. */}}
{{- define "scheduler-ext.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "scheduler-ext.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end }}
