# Unit tests for image-policy.rego (package kubernetes.validating.images).
#
# How to run (OPA 1.22, Rego v1):
#
#   opa check --strict templates/policy
#   opa test -v templates/policy/authz.rego.tmpl templates/policy
#
# The two *.tmpl files are not .rego, so a directory load skips them:
#   - settings.rego.tmpl is never needed here: every test sets the settings
#     with `with data.kubernetes.validating.images.settings... as ...`
#     (registry 10.0.0.7:5000 unless a test says otherwise);
#   - authz.rego.tmpl parses as Rego as it stands (the token placeholder sits
#     inside a string), so it is named explicitly for authz_test.rego. Name it
#     BEFORE the directory: OPA 1.22 silently ignores an explicitly named file
#     that lies under a directory given earlier on the command line. Without
#     it (`opa test templates/policy`) the image/system tests pass and the 6
#     authz tests fail on purpose: they do not pass against a missing module.
# test/policy.test.ts (npx ava test/policy.test.ts) runs both commands on a
# rendered copy (settings.rego with 10.0.0.7:5000, authz.rego with a test
# token) with the real opa binary, then replays templates/verify/extended.yaml.
package kubernetes.validating.images_test

import data.kubernetes.validating.images

reg := "10.0.0.7:5000"

digest := "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

untrusted(image) := sprintf("Image '%v' comes from untrusted registry", [image])

latest(image) := sprintf("Image '%v' used latest image", [image])

unpinned(image) := sprintf("Image '%v' is not pinned by digest", [image])

invalid(image) := sprintf("Image '%v' is not a valid image reference", [image])

pod_request(operation, spec) := {"request": {
	"uid": "u-1",
	"kind": {"group": "", "version": "v1", "kind": "Pod"},
	"resource": {"group": "", "version": "v1", "resource": "pods"},
	"operation": operation,
	"object": {"metadata": {"name": "p"}, "spec": spec},
}}

create(images_list) := pod_request("CREATE", {"containers": [{"name": sprintf("c%d", [i]), "image": img} |
	some i, img in images_list
]})

# deny set for a single-container pod created with the default settings.
deny_for(image) := d if {
	d := images.deny with input as create([image])
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
}

# --- the article's three pods ------------------------------------------------

test_article_bad_repo if {
	deny_for("nginx:1.21.1") == {"Image 'nginx:1.21.1' comes from untrusted registry"}
}

test_article_bad_tag if {
	deny_for("10.0.0.7:5000/nginx:latest") == {"Image '10.0.0.7:5000/nginx:latest' used latest image"}
}

test_article_ok if {
	deny_for("10.0.0.7:5000/nginx:1.21.1") == set()
}

test_article_registry_192 if {
	d := images.deny with input as create(["192.168.64.1:5000/nginx:latest", "nginx:1.21.1", "192.168.64.1:5000/nginx:1.21.1"])
		with data.kubernetes.validating.images.settings.trusted_registries as ["192.168.64.1:5000"]
	d == {
		"Image '192.168.64.1:5000/nginx:latest' used latest image",
		"Image 'nginx:1.21.1' comes from untrusted registry",
	}
}

# --- registry bypasses -------------------------------------------------------

test_port_prefix_bypass if {
	img := "10.0.0.7:50001/nginx:1.21.1"
	deny_for(img) == {untrusted(img)}
}

test_host_suffix_bypass if {
	# A port is digits up to the "/": this is not a reference at all (Docker
	# refuses it too), so it is denied as invalid, never trusted by prefix.
	img := "10.0.0.7:5000.evil.example/nginx:1.21.1"
	deny_for(img) == {invalid(img)}
}

test_host_suffix_bypass_without_port if {
	bad := ["registry.example.evil.example/nginx:1.21.1", "registry.example-evil.com/nginx:1.21.1", "registry.example:5000/nginx:1.21.1"]
	d := images.deny with input as create(array.concat(bad, ["registry.example/nginx:1.21.1"]))
		with data.kubernetes.validating.images.settings.trusted_registries as ["registry.example"]
	d == {untrusted(img) | some img in bad}
}

test_registry_as_docker_hub_name_with_digest if {
	# docker.io image "10.0.0.7", tag "5000", pinned by digest
	img := concat("@", ["10.0.0.7:5000", digest])
	deny_for(img) == {untrusted(img)}
}

test_registry_without_path if {
	# docker.io image "10.0.0.7" with tag "5000": untrusted, not latest
	deny_for("10.0.0.7:5000") == {untrusted("10.0.0.7:5000")}
}

test_trusted_host_without_port if {
	deny_for("10.0.0.7/nginx:1.21.1") == {untrusted("10.0.0.7/nginx:1.21.1")}
}

test_registry_in_path_is_untrusted if {
	# ":" may not appear in a path: the nested registry makes it invalid.
	img := "evil.example/10.0.0.7:5000/nginx:1.21.1"
	deny_for(img) == {invalid(img)}
	img2 := "evil.example/10.0.0.7/nginx:1.21.1"
	d := images.deny with input as create([img2])
		with data.kubernetes.validating.images.settings.trusted_registries as ["10.0.0.7"]
	d == {untrusted(img2)}
}

test_uppercase_host_is_untrusted if {
	img := "HOST.minikube.internal:5000/nginx:1.21.1"
	d := images.deny with input as create([img])
		with data.kubernetes.validating.images.settings.trusted_registries as ["host.minikube.internal:5000"]
	d == {untrusted(img)}
}

test_uppercase_path_is_invalid if {
	img := "10.0.0.7:5000/NGINX:1.21.1"
	deny_for(img) == {invalid(img)}
}

test_docker_io_implicit if {
	deny_for("library/nginx:1.21.1") == {untrusted("library/nginx:1.21.1")}
}

test_docker_io_explicit if {
	deny_for("docker.io/library/nginx:1.21.1") == {untrusted("docker.io/library/nginx:1.21.1")}
}

test_unqualified_name_untrusted_even_if_docker_io_trusted if {
	d := images.deny with input as create(["nginx:1.21.1", "docker.io/library/nginx:1.21.1"])
		with data.kubernetes.validating.images.settings.trusted_registries as ["docker.io"]
	d == {untrusted("nginx:1.21.1")}
}

test_localhost_not_trusted if {
	deny_for("localhost:5000/nginx:1.21.1") == {untrusted("localhost:5000/nginx:1.21.1")}
}

test_localhost_trusted_when_configured if {
	d := images.deny with input as create(["localhost:5000/nginx:1.21.1"])
		with data.kubernetes.validating.images.settings.trusted_registries as ["localhost:5000"]
	d == set()
}

test_several_trusted_registries if {
	d := images.deny with input as create([
		"10.0.0.7:5000/nginx:1.21.1",
		"host.minikube.internal:5000/app/web:2.0",
		"registry.example:443/x:1",
	])
		with data.kubernetes.validating.images.settings.trusted_registries as [reg, "host.minikube.internal:5000"]
	d == {untrusted("registry.example:443/x:1")}
}

test_no_settings_fails_closed if {
	d := images.deny with input as create(["10.0.0.7:5000/nginx:1.21.1"])
		with data.kubernetes.validating.images.settings as {}
	d == {untrusted("10.0.0.7:5000/nginx:1.21.1")}
}

test_garbage_references_invalid if {
	bad := [
		"10.0.0.7:5000/nginx:1.21.1 ",
		"10.0.0.7:5000//nginx:1.21.1",
		"10.0.0.7:5000/nginx:1:2",
		"10.0.0.7:5000/app:1.0:extra",
		"10.0.0.7:5000/nginx@sha256:abc",
		"10.0.0.7:5000/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
		"10.0.0.7:5000/nginx@@sha256:0123",
		"",
	]
	every img in bad {
		deny_for(img) == {invalid(img)}
	}
}

test_invalid_reference_from_untrusted_host_only_invalid if {
	# Not also "untrusted" or "latest": one message that says what is wrong.
	deny_for("evil.example//app") == {invalid("evil.example//app")}
	deny_for("nginx:latest:x") == {invalid("nginx:latest:x")}
}

test_invalid_reference_not_also_unpinned if {
	img := "10.0.0.7:5000/app:1.0:extra"
	d := images.deny with input as create([img])
		with data.kubernetes.validating.images.settings as {"trusted_registries": [reg], "require_digest": true}
	d == {invalid(img)}
}

test_invalid_next_to_valid_images if {
	d := images.deny with input as create(["10.0.0.7:5000//app", "nginx:1.21.1", "10.0.0.7:5000/ok:1"])
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {invalid("10.0.0.7:5000//app"), untrusted("nginx:1.21.1")}
}

test_invalid_on_update_checked if {
	old := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}]}
	new := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.0:extra"}]}
	d := images.deny with input as with_old(pod_request("UPDATE", new), old)
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {invalid("10.0.0.7:5000/nginx:1.0:extra")}
}

# --- latest ------------------------------------------------------------------

test_no_tag_is_latest if {
	deny_for("10.0.0.7:5000/nginx") == {latest("10.0.0.7:5000/nginx")}
}

test_port_is_not_a_tag if {
	d := images.deny with input as create(["localhost:5000/nginx"])
		with data.kubernetes.validating.images.settings.trusted_registries as ["localhost:5000"]
	d == {latest("localhost:5000/nginx")}
}

test_latest_with_digest_denied if {
	img := sprintf("10.0.0.7:5000/nginx:latest@%s", [digest])
	deny_for(img) == {latest(img)}
}

test_latest_case_insensitive if {
	deny_for("10.0.0.7:5000/nginx:Latest") == {latest("10.0.0.7:5000/nginx:Latest")}
}

test_digest_only_allowed if {
	deny_for(sprintf("10.0.0.7:5000/nginx@%s", [digest])) == set()
}

test_tag_and_digest_allowed if {
	deny_for(sprintf("10.0.0.7:5000/nginx:1.21.1@%s", [digest])) == set()
}

test_latest_in_path_is_not_latest if {
	deny_for("10.0.0.7:5000/latest/nginx:1.0") == set()
}

test_untrusted_and_latest_two_messages if {
	deny_for("nginx:latest") == {untrusted("nginx:latest"), latest("nginx:latest")}
	deny_for("nginx") == {untrusted("nginx"), latest("nginx")}
}

# --- require_digest ----------------------------------------------------------

test_require_digest_off_by_default if {
	not images.require_digest with data.kubernetes.validating.images.settings.trusted_registries as [reg]
}

test_require_digest if {
	pinned := sprintf("10.0.0.7:5000/nginx@%s", [digest])
	d := images.deny with input as create([pinned, "10.0.0.7:5000/nginx:1.21.1"])
		with data.kubernetes.validating.images.settings as {"trusted_registries": [reg], "require_digest": true}
	d == {unpinned("10.0.0.7:5000/nginx:1.21.1")}
}

# --- container kinds, operations, sub-resources -------------------------------

test_init_containers if {
	inp := pod_request("CREATE", {
		"initContainers": [{"name": "i", "image": "busybox:1.36"}, {"name": "j", "image": "10.0.0.7:5000/x:latest"}],
		"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}],
	})
	d := images.deny with input as inp with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("busybox:1.36"), latest("10.0.0.7:5000/x:latest")}
}

test_ephemeral_containers_in_pod_spec if {
	inp := pod_request("UPDATE", {
		"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}],
		"ephemeralContainers": [{"name": "dbg", "image": "busybox:1.36"}],
	})
	d := images.deny with input as inp with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("busybox:1.36")}
}

test_ephemeralcontainers_subresource if {
	inp := json.patch(
		pod_request("UPDATE", {
			"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}],
			"ephemeralContainers": [{"name": "dbg", "image": "10.0.0.7:5000/busybox"}],
		}),
		[{"op": "add", "path": "/request/subResource", "value": "ephemeralcontainers"}],
	)
	d := images.deny with input as inp with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {latest("10.0.0.7:5000/busybox")}
}

test_legacy_ephemeralcontainers_kind if {
	inp := {"request": {
		"uid": "u",
		"kind": {"group": "", "version": "v1", "kind": "EphemeralContainers"},
		"subResource": "ephemeralcontainers",
		"operation": "UPDATE",
		"object": {"ephemeralContainers": [{"name": "dbg", "image": "busybox:1.36"}]},
	}}
	d := images.deny with input as inp with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("busybox:1.36")}
}

test_update_checked if {
	d := images.deny with input as pod_request("UPDATE", {"containers": [{"name": "c", "image": "nginx:1.21.1"}]})
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("nginx:1.21.1")}
}

# UPDATE: what the update brings is judged, not what the pod already had.
with_old(inp, old_spec) := json.patch(inp, [{"op": "add", "path": "/request/oldObject", "value": {"metadata": {"name": "p"}, "spec": old_spec}}])

test_update_keeping_an_image_the_pod_already_had_is_allowed if {
	# A pod from before the policy (say, a label change or a finalizer removal).
	spec := {"containers": [{"name": "c", "image": "nginx:1.21.1"}], "initContainers": [{"name": "i", "image": "busybox"}]}
	count(images.deny) == 0 with input as with_old(pod_request("UPDATE", spec), spec)
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
}

test_update_changing_an_image_is_checked if {
	old := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}]}
	new := {"containers": [{"name": "c", "image": "nginx:1.21.1"}]}
	d := images.deny with input as with_old(pod_request("UPDATE", new), old)
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("nginx:1.21.1")}
}

test_update_same_image_under_another_container_name_is_checked if {
	# Not a way to smuggle an old untrusted image into a new container.
	old := {"containers": [{"name": "a", "image": "nginx:1.21.1"}]}
	new := {"containers": [{"name": "a", "image": "nginx:1.21.1"}, {"name": "b", "image": "nginx:1.21.1"}]}
	d := images.deny with input as with_old(pod_request("UPDATE", new), old)
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("nginx:1.21.1")}
}

test_update_same_image_moved_between_lists_is_checked if {
	old := {"containers": [{"name": "a", "image": "busybox:1.36"}]}
	new := {"containers": [{"name": "a", "image": "busybox:1.36"}], "ephemeralContainers": [{"name": "a", "image": "busybox:1.36"}]}
	d := images.deny with input as with_old(json.patch(pod_request("UPDATE", new), [{"op": "add", "path": "/request/subResource", "value": "ephemeralcontainers"}]), old)
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("busybox:1.36")}
}

test_other_operations_ignored if {
	every op in ["DELETE", "CONNECT"] {
		count(images.deny) == 0 with input as pod_request(op, {"containers": [{"name": "c", "image": "nginx"}]})
			with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	}
}

test_status_subresource_ignored if {
	inp := json.patch(
		pod_request("UPDATE", {"containers": [{"name": "c", "image": "nginx"}]}),
		[{"op": "add", "path": "/request/subResource", "value": "status"}],
	)
	count(images.deny) == 0 with input as inp with data.kubernetes.validating.images.settings.trusted_registries as [reg]
}

test_other_kinds_ignored if {
	inp := json.patch(
		pod_request("CREATE", {"containers": [{"name": "c", "image": "nginx"}]}),
		[{"op": "replace", "path": "/request/kind/kind", "value": "ConfigMap"}],
	)
	count(images.deny) == 0 with input as inp with data.kubernetes.validating.images.settings.trusted_registries as [reg]
}

test_one_message_per_image if {
	d := images.deny with input as pod_request("CREATE", {
		"containers": [{"name": "a", "image": "nginx:latest"}, {"name": "b", "image": "nginx:latest"}],
		"initContainers": [{"name": "i", "image": "nginx:latest"}],
	})
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
	d == {untrusted("nginx:latest"), latest("nginx:latest")}
}

# --- the parser itself -------------------------------------------------------

test_parse_reference if {
	images.parse_reference("nginx:1.21.1") == {"registry": "docker.io", "registry_explicit": false, "path": "nginx", "tag": "1.21.1", "digest": ""}
	images.parse_reference("host:5000/nginx") == {"registry": "host:5000", "registry_explicit": true, "path": "nginx", "tag": "", "digest": ""}
	images.parse_reference("localhost/a/b:t") == {"registry": "localhost", "registry_explicit": true, "path": "a/b", "tag": "t", "digest": ""}
	images.parse_reference("a/b:t") == {"registry": "docker.io", "registry_explicit": false, "path": "a/b", "tag": "t", "digest": ""}
	images.parse_reference("[::1]:5000/a") == {"registry": "[::1]:5000", "registry_explicit": true, "path": "a", "tag": "", "digest": ""}
	r := images.parse_reference(sprintf("r.example:1/a:latest@%s", [digest]))
	r.tag == "latest"
	r.digest == digest
	not images.parse_reference("a:b:c")
	not images.parse_reference("-a/b")
	not images.parse_reference("r.example:x/a")
}

# --- workloads: judged when they are applied, like pods -----------------------

# Every kind that makes pods, with its group, resource and where its pod template lives.
workload_kinds := [
	{"group": "apps", "kind": "Deployment", "resource": "deployments", "path": ["spec", "template", "spec"]},
	{"group": "apps", "kind": "ReplicaSet", "resource": "replicasets", "path": ["spec", "template", "spec"]},
	{"group": "apps", "kind": "StatefulSet", "resource": "statefulsets", "path": ["spec", "template", "spec"]},
	{"group": "apps", "kind": "DaemonSet", "resource": "daemonsets", "path": ["spec", "template", "spec"]},
	{"group": "batch", "kind": "Job", "resource": "jobs", "path": ["spec", "template", "spec"]},
	{"group": "", "kind": "ReplicationController", "resource": "replicationcontrollers", "path": ["spec", "template", "spec"]},
	{"group": "batch", "kind": "CronJob", "resource": "cronjobs", "path": ["spec", "jobTemplate", "spec", "template", "spec"]},
]

# An object of that kind whose pod template has the given spec (nested along k.path).
workload(k, pod_spec) := json.patch({"metadata": {"name": "w", "labels": {"app": "w"}}}, array.concat(
	[{"op": "add", "path": sprintf("/%s", [concat("/", array.slice(k.path, 0, n))]), "value": {}} |
		some n in numbers.range(1, count(k.path) - 1)
	],
	[{"op": "add", "path": sprintf("/%s", [concat("/", k.path)]), "value": pod_spec}],
))

workload_request(k, operation, obj) := {"request": {
	"uid": "u-w",
	"kind": {"group": k.group, "version": "v1", "kind": k.kind},
	"resource": {"group": k.group, "version": "v1", "resource": k.resource},
	"operation": operation,
	"object": obj,
}}

workload_update(k, old_spec, new_spec) := json.patch(
	workload_request(k, "UPDATE", workload(k, new_spec)),
	[{"op": "add", "path": "/request/oldObject", "value": workload(k, old_spec)}],
)

workload_deny(inp) := d if {
	d := images.deny with input as inp
		with data.kubernetes.validating.images.settings.trusted_registries as [reg]
}

test_workload_helper_nests_the_template if {
	cron := workload_kinds[6]
	w := workload(cron, {"containers": []})
	w.spec.jobTemplate.spec.template.spec == {"containers": []}
	deploy := workload_kinds[0]
	workload(deploy, {"containers": []}).spec.template.spec == {"containers": []}
}

test_workload_create_denied_for_every_kind if {
	spec := {
		"initContainers": [{"name": "i", "image": "busybox:1.36"}],
		"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:latest"}, {"name": "d", "image": "10.0.0.7:5000/ok:1.0"}],
	}
	every k in workload_kinds {
		workload_deny(workload_request(k, "CREATE", workload(k, spec))) == {untrusted("busybox:1.36"), latest("10.0.0.7:5000/nginx:latest")}
	}
}

test_workload_create_allowed_for_every_kind if {
	spec := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}]}
	every k in workload_kinds {
		workload_deny(workload_request(k, "CREATE", workload(k, spec))) == set()
	}
}

test_workload_invalid_reference_for_every_kind if {
	spec := {"containers": [{"name": "c", "image": "10.0.0.7:5000//nginx:1.21.1"}]}
	every k in workload_kinds {
		workload_deny(workload_request(k, "CREATE", workload(k, spec))) == {invalid("10.0.0.7:5000//nginx:1.21.1")}
	}
}

test_workload_update_changed_image_denied_for_every_kind if {
	old := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}]}
	new := {"containers": [{"name": "c", "image": "nginx:1.21.1"}]}
	every k in workload_kinds {
		workload_deny(workload_update(k, old, new)) == {untrusted("nginx:1.21.1")}
	}
}

test_workload_update_added_container_denied_for_every_kind if {
	old := {"containers": [{"name": "c", "image": "nginx:1.21.1"}]}
	new := {"containers": [{"name": "c", "image": "nginx:1.21.1"}, {"name": "side", "image": "10.0.0.7:5000/envoy"}]}
	every k in workload_kinds {
		workload_deny(workload_update(k, old, new)) == {latest("10.0.0.7:5000/envoy")}
	}
}

test_workload_update_keeping_old_images_allowed_for_every_kind if {
	# A workload from before the policy, scaled or relabelled: its images are not judged again.
	spec := {"containers": [{"name": "c", "image": "nginx:latest"}], "initContainers": [{"name": "i", "image": "busybox"}]}
	every k in workload_kinds {
		inp := json.patch(workload_update(k, spec, spec), [
			{"op": "add", "path": "/request/object/metadata/labels/tier", "value": "web"},
			{"op": "add", "path": "/request/object/spec/replicas", "value": 5},
		])
		workload_deny(inp) == set()
	}
}

test_workload_update_allowed_change_for_every_kind if {
	old := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}]}
	new := {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.2"}]}
	every k in workload_kinds {
		workload_deny(workload_update(k, old, new)) == set()
	}
}

test_workload_status_and_scale_subresources_ignored if {
	spec := {"containers": [{"name": "c", "image": "nginx:latest"}]}
	every k in workload_kinds {
		every sub in ["status", "scale"] {
			inp := json.patch(workload_request(k, "UPDATE", workload(k, spec)), [{"op": "add", "path": "/request/subResource", "value": sub}])
			workload_deny(inp) == set()
		}
	}
}

test_workload_other_operations_ignored if {
	spec := {"containers": [{"name": "c", "image": "nginx:latest"}]}
	every k in workload_kinds {
		workload_deny(workload_request(k, "DELETE", workload(k, spec))) == set()
	}
}

test_workload_kind_in_another_group_ignored if {
	# A custom resource that happens to be called Deployment is not ours to read;
	# the pods it makes are still checked.
	k := json.patch(workload_kinds[0], [{"op": "replace", "path": "/group", "value": "example.com"}])
	workload_deny(workload_request(k, "CREATE", workload(k, {"containers": [{"name": "c", "image": "nginx:latest"}]}))) == set()
}

test_workload_cronjob_reads_its_job_template_not_spec_template if {
	# A CronJob with a (meaningless) spec.template is judged by its jobTemplate only.
	cron := workload_kinds[6]
	obj := json.patch(workload(cron, {"containers": [{"name": "c", "image": "10.0.0.7:5000/ok:1"}]}), [{"op": "add", "path": "/spec/template", "value": {"spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}}}])
	workload_deny(workload_request(cron, "CREATE", obj)) == set()
}

test_workload_require_digest if {
	k := workload_kinds[0]
	inp := workload_request(k, "CREATE", workload(k, {"containers": [{"name": "c", "image": "10.0.0.7:5000/nginx:1.21.1"}]}))
	d := images.deny with input as inp
		with data.kubernetes.validating.images.settings as {"trusted_registries": [reg], "require_digest": true}
	d == {unpinned("10.0.0.7:5000/nginx:1.21.1")}
}
