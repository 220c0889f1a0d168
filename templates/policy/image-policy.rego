# Trusted-registry image policy for the OPA validating admission webhook.
#
# Static module (never rendered): the per-sandbox settings live in the sibling
# package data.kubernetes.validating.images.settings, rendered by bootstrap
# from settings.rego.tmpl:
#
#   trusted_registries := ["host.minikube.internal:5000", ...]  # exact host[:port]
#   require_digest := false                                      # true: digest pinning mandatory
#
# If that package is missing, no registry is trusted (fail closed).
#
# Messages (one per offending image per rule; the first two are the 2021
# article's, word for word):
#   Image '<image>' comes from untrusted registry
#   Image '<image>' used latest image
#   Image '<image>' is not pinned by digest            (only when require_digest)
#   Image '<image>' is not a valid image reference     (does not parse; no other message then)
#
# What is checked: containers, initContainers and ephemeralContainers of
# Pods, and of the pod templates of Deployments, ReplicaSets, StatefulSets,
# DaemonSets, Jobs, ReplicationControllers (spec.template.spec) and CronJobs
# (spec.jobTemplate.spec.template.spec), on CREATE and UPDATE, including UPDATEs of
# the pods/ephemeralcontainers subresource (how `kubectl debug` adds ephemeral
# containers; the object sent is the whole Pod). On CREATE every image is
# checked; on UPDATE every image the update brings (a changed image, or a
# container not in the old object under that name), but not one a container
# already had: pods and workloads created before the policy (or before a
# stricter setting) must still take label changes, finalizer removal,
# scaling and ReplicaSet adoption.
package kubernetes.validating.images

# ---------------------------------------------------------------------------
# Settings (from the rendered settings module; fail closed when absent)
# ---------------------------------------------------------------------------

trusted_registries := {r |
	some r in data.kubernetes.validating.images.settings.trusted_registries
	is_string(r)
}

default require_digest := false

require_digest if data.kubernetes.validating.images.settings.require_digest == true

# ---------------------------------------------------------------------------
# Which requests are checked, and which images they carry
# ---------------------------------------------------------------------------

checked_operations := {"CREATE", "UPDATE"}

# Sub-resources of pods that can carry new images: none (the main resource)
# and ephemeralcontainers. Others (status, binding, eviction, resize, ...)
# cannot change images, and checking them would let a policy change block
# the kubelet's status updates of pods admitted earlier.
checked_subresources := {"", "ephemeralcontainers"}

container_fields := ["containers", "initContainers", "ephemeralContainers"]

# Where each kind keeps the pod spec it makes pods from, keyed "<group>/<kind>"
# (the core group is ""). Pods are judged as themselves, and so are the
# workloads that make them: a Deployment with an untrusted image is refused
# when it is applied, not only later in its ReplicaSet's events. Pods stay
# checked too, for controllers this list does not know (custom resources).
pod_spec_paths := {
	"/Pod": ["spec"],
	"/ReplicationController": ["spec", "template", "spec"],
	"apps/Deployment": ["spec", "template", "spec"],
	"apps/ReplicaSet": ["spec", "template", "spec"],
	"apps/StatefulSet": ["spec", "template", "spec"],
	"apps/DaemonSet": ["spec", "template", "spec"],
	"batch/Job": ["spec", "template", "spec"],
	"batch/CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
}

kind_key := sprintf("%s/%s", [object.get(input.request.kind, "group", ""), input.request.kind.kind])

pod_spec_path := pod_spec_paths[kind_key]

applies if {
	kind_key == "/Pod"
	input.request.operation in checked_operations
	object.get(input.request, "subResource", "") in checked_subresources
}

# Workloads: the main resource only (status and scale cannot change images).
applies if {
	kind_key != "/Pod"
	pod_spec_path
	input.request.operation in checked_operations
	object.get(input.request, "subResource", "") == ""
}

# Kubernetes 1.16-1.21 sent the ephemeralcontainers subresource as kind
# EphemeralContainers ({"ephemeralContainers": [...]} at the top level).
# Newer versions send the Pod; accept both so the old shape is no bypass.
applies if {
	input.request.subResource == "ephemeralcontainers"
	input.request.operation in checked_operations
}

pod_spec(obj) := object.get(obj, pod_spec_path, {})

images contains image if {
	applies
	some field in container_fields
	some container in pod_spec(input.request.object)[field]
	not already_there(field, container)
	image := container.image
}

# The same container, with the same image, in the object before this UPDATE
# (for a workload: in its pod template), so that scaling, relabelling or
# adopting a workload made before the policy still works.
already_there(field, container) if {
	input.request.operation == "UPDATE"
	some old in pod_spec(object.get(input.request, "oldObject", {}))[field]
	old.name == container.name
	old.image == container.image
}

images contains image if {
	applies
	input.request.kind.kind == "EphemeralContainers"
	some container in input.request.object.ephemeralContainers
	image := container.image
}

# ---------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------

# A string that is not an image reference at all ("host:5000/app:1.0:extra",
# "host:5000//app", a truncated digest) gets its own message: "from an
# untrusted registry" would send the user looking at the registry, and
# neither "latest" nor "digest" means anything for it.
deny contains msg if {
	some image in images
	not valid_reference(image)
	msg := sprintf("Image '%v' is not a valid image reference", [image])
}

deny contains msg if {
	some image in images
	valid_reference(image)
	not trusted(image)
	msg := sprintf("Image '%v' comes from untrusted registry", [image])
}

deny contains msg if {
	some image in images
	uses_latest(image)
	msg := sprintf("Image '%v' used latest image", [image])
}

deny contains msg if {
	require_digest
	some image in images
	valid_reference(image)
	not pinned(image)
	msg := sprintf("Image '%v' is not pinned by digest", [image])
}

valid_reference(image) if parse_reference(image)

# An image is trusted only if it parses as a Docker reference and its
# registry (host[:port], case-sensitive) is exactly one of the trusted ones.
# A string prefix test is not enough: "10.0.0.7:50001/x",
# "10.0.0.7:5000.evil.example/x" and "10.0.0.7:5000@sha256:..." (docker.io
# image "10.0.0.7", tag "5000") all start with "10.0.0.7:5000".
# Unparsable images are never trusted (they are denied as invalid, above),
# and unqualified names ("nginx") are untrusted:
# which registry serves them is the runtime's choice (docker.io for
# containerd, possibly a search list for CRI-O), so only an explicit
# registry can be trusted.
trusted(image) if {
	ref := parse_reference(image)
	ref.registry_explicit
	ref.registry in trusted_registries
}

# "latest" explicitly (case-insensitively: "Latest" is just as mutable), or
# implicitly: no tag and no digest. "host:5000/nginx" has a port, not a tag,
# so it is implicitly latest.
#
# "nginx:latest@sha256:..." is denied too, although the runtime pulls by
# digest and ignores the tag: to a human reading the manifest it still says
# "latest", the tag is a lie the moment latest moves, and tooling that strips
# digests (or a later edit that drops one) silently turns it into a floating
# reference. Pin with a real version tag and/or a bare digest instead.
uses_latest(image) if {
	ref := parse_reference(image)
	lower(ref.tag) == "latest"
}

uses_latest(image) if {
	ref := parse_reference(image)
	ref.tag == ""
	ref.digest == ""
}

pinned(image) if {
	ref := parse_reference(image)
	ref.digest != ""
}

# ---------------------------------------------------------------------------
# Docker image reference parsing (github.com/distribution/reference grammar)
#
#   reference := name [ ":" tag ] [ "@" digest ]
#   name      := [ domain "/" ] path
#   domain    := host [ ":" port ]
#
# The first "/"-separated component is a registry only if it contains "." or
# ":", is "localhost", or has upper-case letters (as splitDockerDomain does);
# otherwise the image is on docker.io (registry_explicit is false).
# Returns {"registry", "registry_explicit", "path", "tag", "digest"} with ""
# for absent parts; undefined when the string is not a valid reference.
# ---------------------------------------------------------------------------

domain_component := `[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?`

domain_re := sprintf(`^(?:%s(?:\.%s)*|\[[a-fA-F0-9:.]+\])(?::[0-9]+)?$`, [domain_component, domain_component])

path_component := `[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*`

path_re := sprintf(`^%s(?:/%s)*$`, [path_component, path_component])

tag_re := `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`

digest_re := `^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$`

parse_reference(image) := ref if {
	is_string(image)
	[name_tag, digest] := split_digest(image)
	[registry, explicit, rest] := split_registry(name_tag)
	[path, tag] := split_tag(rest)
	regex.match(domain_re, registry)
	regex.match(path_re, path)
	valid_tag(tag)
	valid_digest(digest)
	count(path) + count(registry) < 256
	ref := {
		"registry": registry,
		"registry_explicit": explicit,
		"path": path,
		"tag": tag,
		"digest": digest,
	}
}

split_digest(s) := [s, ""] if {
	not contains(s, "@")
} else := parts if {
	parts := split(s, "@")
	count(parts) == 2
}

split_registry(name) := [first, true, substring(name, count(first) + 1, -1)] if {
	contains(name, "/")
	first := split(name, "/")[0]
	registry_component(first)
} else := ["docker.io", false, name]

registry_component(c) if contains(c, ".")

registry_component(c) if contains(c, ":")

registry_component("localhost")

registry_component(c) if lower(c) != c

split_tag(s) := [s, ""] if {
	not contains(s, ":")
} else := parts if {
	parts := split(s, ":")
	count(parts) == 2
}

valid_tag("")

valid_tag(tag) if regex.match(tag_re, tag)

valid_digest("")

valid_digest(digest) if regex.match(digest_re, digest)
