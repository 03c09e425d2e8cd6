{{/* Name prefix of every object: values.name, else the release name. */}}
{{- define "chat4all.fullname" -}}
{{- default .Release.Name .Values.name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object (cdk8s/chat4all-chart.ts commonLabels). */}}
{{- define "chat4all.labels" -}}
app.kubernetes.io/name: chat4all
app.kubernetes.io/instance: {{ include "chat4all.fullname" . }}
app.kubernetes.io/part-of: chat4all
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The labels selecting every pod of the installation. */}}
{{- define "chat4all.instanceLabels" -}}
app.kubernetes.io/name: chat4all
app.kubernetes.io/instance: {{ include "chat4all.fullname" . }}
{{- end -}}

{{/*
The workloads (cdk8s/workloads.ts): component, values key, entry point, port, metrics port (0: on
the service port), readiness path,
how it scales, consumer group and topic. Used as: include "chat4all.workloads" . | fromYaml
*/}}
{{- define "chat4all.workloads" -}}
items:
  - component: api
    key: api
    entry: dist/services/api/main.js
    port: 8080
    metricsPort: 9464
    readinessPath: /readyz
    scaling: cpu
    preStopSleepSeconds: 5
    grace: {{ .Values.api.terminationGracePeriodSeconds }}
    replicas: {{ .Values.api.replicas }}
    serviceAccount: false
  - component: gateway
    key: gateway
    entry: dist/services/gateway/main.js
    port: 8081
    metricsPort: 9464
    readinessPath: /readyz
    scaling: cpu
    preStopSleepSeconds: 5
    grace: {{ .Values.gateway.terminationGracePeriodSeconds }}
    replicas: {{ .Values.gateway.replicas }}
    serviceAccount: false
  - component: router
    key: router
    entry: dist/services/router/main.js
    port: 8091
    metricsPort: 9464
    readinessPath: /readyz
    scaling: lag
    group: chat4all-router
    topic: chat4all.messages.accepted
    preStopSleepSeconds: 0
    grace: {{ .Values.router.terminationGracePeriodSeconds }}
    replicas: {{ .Values.router.replicas }}
    serviceAccount: false
{{- range .Values.connectors.channels }}
  - component: connector-{{ . }}
    key: connectors
    channel: {{ . }}
    entry: dist/services/connectors/main.js
    port: 8090
    metricsPort: 9464
    readinessPath: /readyz
    scaling: lag
    group: chat4all-connector-{{ . }}
    topic: chat4all.deliveries.{{ . }}
    preStopSleepSeconds: 0
    grace: {{ $.Values.connectors.terminationGracePeriodSeconds }}
    replicas: {{ $.Values.connectors.replicas }}
    serviceAccount: false
{{- end }}
{{- if .Values.providerSim.enabled }}
  - component: provider-sim
    key: providerSim
    entry: dist/services/provider-sim/main.js
    port: 9300
    metricsPort: 0
    readinessPath: /healthz
    scaling: fixed
    preStopSleepSeconds: 0
    grace: 10
    replicas: 1
    serviceAccount: false
{{- end }}
{{- if .Values.operator.enabled }}
  - component: operator
    key: operator
    entry: dist/operator/main.js
    port: 8092
    metricsPort: 0
    readinessPath: /readyz
    scaling: fixed
    preStopSleepSeconds: 0
    grace: 30
    replicas: {{ .Values.operator.replicas }}
    serviceAccount: true
{{- end }}
{{- end -}}

{{- define "chat4all.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .ref.name }}
      key: {{ .ref.key }}
      optional: {{ .ref.optional }}
{{- end -}}

{{/*
The credentials one service reads, by reference, and no others (cdk8s/workloads.ts serviceSecrets):
the API the JWT secret, client credentials, object store keys and the optional admin bootstrap token; a connector the Meta app secret,
the verify token and its own channel's token; every one of them the store's credentials.
Used as: include "chat4all.serviceSecrets" (dict "root" $ "w" $w)
*/}}
{{- define "chat4all.serviceSecrets" -}}
{{- $s := .root.Values.secrets -}}
{{- $pairs := list -}}
{{- if eq .w.key "api" -}}
{{- $pairs = list (list "JWT_SECRET" "jwtSecret") (list "AUTH_CLIENTS" "authClients") (list "S3_ACCESS_KEY_ID" "objectStoreAccessKey") (list "S3_SECRET_ACCESS_KEY" "objectStoreSecretKey") (list "ADMIN_BOOTSTRAP_TOKEN" "adminBootstrapToken") -}}
{{- else if eq .w.key "gateway" -}}
{{- $pairs = list (list "JWT_SECRET" "jwtSecret") -}}
{{- else if eq .w.key "connectors" -}}
{{- $pairs = list (list "META_APP_SECRET" "metaAppSecret") (list "WEBHOOK_VERIFY_TOKEN" "webhookVerifyToken") (list "S3_ACCESS_KEY_ID" "objectStoreAccessKey") (list "S3_SECRET_ACCESS_KEY" "objectStoreSecretKey") (ternary (list "WHATSAPP_TOKEN" "whatsappToken") (list "INSTAGRAM_TOKEN" "instagramToken") (eq .w.channel "whatsapp")) -}}
{{- end -}}
{{- range $pair := concat $pairs (list (list "CASSANDRA_USERNAME" "cassandraUsername") (list "CASSANDRA_PASSWORD" "cassandraPassword")) }}
{{ include "chat4all.secretEnv" (dict "env" (index $pair 0) "ref" (index $s (index $pair 1))) }}
{{- end }}
{{- end -}}

{{/*
The rules cdk8s/chart-props.ts refuses (same messages): the dev profile, consumers beyond the
partitions, scale to zero where it cannot work, grace periods shorter than a graceful stop.
*/}}
{{- define "chat4all.validate" -}}
{{- $v := .Values -}}
{{- $mode := $v.autoscaling.mode -}}
{{- $p := int $v.kafka.partitions -}}
{{- $problems := list -}}
{{- if eq $v.profile "dev" -}}
{{- $problems = append $problems "profile is dev, whose built-in secrets (JWT, client credentials, Meta app secret, tokens) are published, so anyone could mint an admin token: set profile: production and create the Secrets named under secrets (docs/kubernetes.md); for a local trial use make up" -}}
{{- end -}}
{{- $topics := list -}}
{{- range $v.connectors.channels }}{{ $topics = append $topics (printf "chat4all.deliveries.%s" .) }}{{ end -}}
{{- range $w := list (dict "key" "router" "topic" "chat4all.messages.accepted" "v" $v.router) (dict "key" "connectors" "topic" (join ", " $topics) "v" $v.connectors) -}}
{{- $a := $w.v.autoscaling -}}
{{- if and (eq $mode "none") (gt (int $w.v.replicas) $p) -}}
{{- $problems = append $problems (printf "%s.replicas (%d) exceeds the partitions of topic %s (%d): extra consumers would sit idle; raise kafka.partitions or lower %s.replicas" $w.key (int $w.v.replicas) $w.topic $p $w.key) -}}
{{- end -}}
{{- if ne $mode "none" -}}
{{- if gt (int $a.maxReplicas) $p -}}
{{- $problems = append $problems (printf "%s.autoscaling.maxReplicas (%d) exceeds the partitions of topic %s (%d): extra consumers would sit idle; raise kafka.partitions or lower %s.autoscaling.maxReplicas" $w.key (int $a.maxReplicas) $w.topic $p $w.key) -}}
{{- end -}}
{{- if gt (int $a.minReplicas) (int $a.maxReplicas) -}}
{{- $problems = append $problems (printf "%s.autoscaling.minReplicas (%d) exceeds maxReplicas (%d)" $w.key (int $a.minReplicas) (int $a.maxReplicas)) -}}
{{- end -}}
{{- if and (eq (int $a.minReplicas) 0) (eq $mode "hpa") -}}
{{- $problems = append $problems (printf "%s.autoscaling.minReplicas is 0 but an HPA cannot scale to zero (alpha feature HPAScaleToZero): use autoscaling.mode keda or minReplicas 1" $w.key) -}}
{{- end -}}
{{- if and (eq (int $a.minReplicas) 0) (not $a.lagOnTopic) -}}
{{- $problems = append $problems (printf "%s.autoscaling.minReplicas is 0 but the lag is not measured on a topic (lagOnTopic false): a group with no committed offsets has no known topics, so its lag reads 0 and the workload would never scale up from zero; set %s.autoscaling.lagOnTopic true or minReplicas 1" $w.key $w.key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (ne $mode "none") (gt (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) -}}
{{- $problems = append $problems (printf "api.autoscaling.minReplicas (%d) exceeds maxReplicas (%d)" (int $v.api.autoscaling.minReplicas) (int $v.api.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- if and (ne $mode "none") (gt (int $v.gateway.autoscaling.minReplicas) (int $v.gateway.autoscaling.maxReplicas)) -}}
{{- $problems = append $problems (printf "gateway.autoscaling.minReplicas (%d) exceeds maxReplicas (%d)" (int $v.gateway.autoscaling.minReplicas) (int $v.gateway.autoscaling.maxReplicas)) -}}
{{- end -}}
{{- range $key := list "api" "gateway" "router" "connectors" -}}
{{- $g := int (index $v $key).terminationGracePeriodSeconds -}}
{{- $paused := has $key (list "api" "gateway") -}}
{{- $need := ternary 30 25 $paused -}}
{{- if lt $g $need -}}
{{- $problems = append $problems (printf "%s.terminationGracePeriodSeconds (%d) is shorter than %d s: the service allows itself 20 s to finish, commit and leave its group%s; raise it to at least %d" $key $g $need (ternary " after a 5 s preStop pause" "" $paused) $need) -}}
{{- end -}}
{{- end -}}
{{- if $problems -}}
{{- fail (printf "invalid Chat4All settings:\n  - %s" (join "\n  - " $problems)) -}}
{{- end -}}
{{- end -}}

{{/*
Egress to the internet only (cdk8s/chat4all-chart.ts PUBLIC_ONLY): every address but the private,
CGNAT, loopback, link-local (169.254/16 holds the cloud metadata endpoint) and unique-local ranges.
*/}}
{{- define "chat4all.publicOnly" -}}
- ipBlock: { cidr: 0.0.0.0/0, except: [10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, 192.168.0.0/16] }
- ipBlock: { cidr: "::/0", except: ["::1/128", "fc00::/7", "fe80::/10"] }
{{- end -}}

{{/* The platform's own services: pods in the cluster, networkPolicy.platformCidrs, or public endpoints. */}}
{{- define "chat4all.platformPeers" -}}
- namespaceSelector: {}
{{- range .Values.networkPolicy.platformCidrs }}
- ipBlock: { cidr: {{ . | quote }} }
{{- end }}
{{ include "chat4all.publicOnly" . }}
{{- end -}}
