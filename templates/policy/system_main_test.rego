# Unit tests for system-main.rego (package system, the webhook's `POST /`).
# Run (see image_policy_test.rego for why the template comes first):
#   opa check --strict templates/policy
#   opa test -v templates/policy/authz.rego.tmpl templates/policy
# Settings come from `with` overrides (registry 10.0.0.7:5000).
package system_test

import data.system

review(uid, images_list) := {
	"apiVersion": "admission.k8s.io/v1",
	"kind": "AdmissionReview",
	"request": {
		"uid": uid,
		"kind": {"group": "", "version": "v1", "kind": "Pod"},
		"resource": {"group": "", "version": "v1", "resource": "pods"},
		"operation": "CREATE",
		"object": {"spec": {"containers": [{"name": sprintf("c%d", [i]), "image": img} | some i, img in images_list]}},
	},
}

main_for(uid, images_list) := m if {
	m := system.main with input as review(uid, images_list)
		with data.kubernetes.validating.images.settings.trusted_registries as ["10.0.0.7:5000"]
}

test_allowed if {
	main_for("uid-ok", ["10.0.0.7:5000/nginx:1.21.1"]) == {
		"apiVersion": "admission.k8s.io/v1",
		"kind": "AdmissionReview",
		"response": {"uid": "uid-ok", "allowed": true},
	}
}

test_article_bad_repo if {
	msg := "Image 'nginx:1.21.1' comes from untrusted registry"
	main_for("uid-1", ["nginx:1.21.1"]) == {
		"apiVersion": "admission.k8s.io/v1",
		"kind": "AdmissionReview",
		"response": {
			"uid": "uid-1",
			"allowed": false,
			"status": {"code": 403, "reason": msg, "message": msg},
		},
	}
}

test_article_bad_tag if {
	r := main_for("uid-2", ["10.0.0.7:5000/nginx:latest"]).response
	r.allowed == false
	r.uid == "uid-2"
	r.status.message == "Image '10.0.0.7:5000/nginx:latest' used latest image"
	r.status.reason == r.status.message
}

test_messages_sorted_and_joined if {
	r := main_for("uid-3", ["nginx:latest", "10.0.0.7:5000/a", "busybox:1.36"]).response
	r.status.message == concat(", ", [
		"Image '10.0.0.7:5000/a' used latest image",
		"Image 'busybox:1.36' comes from untrusted registry",
		"Image 'nginx:latest' comes from untrusted registry",
		"Image 'nginx:latest' used latest image",
	])
}

test_uid_defaults_to_empty if {
	r := system.main.response with input as {"request": {"kind": {"kind": "Pod"}, "operation": "CREATE", "object": {"spec": {"containers": []}}}}
		with data.kubernetes.validating.images.settings.trusted_registries as ["10.0.0.7:5000"]
	r == {"uid": "", "allowed": true}
}

test_no_input_allowed_with_empty_uid if {
	system.main.response == {"uid": "", "allowed": true}
}

test_policy_not_loaded_fails_closed if {
	r := system.main.response with input as review("uid-4", ["10.0.0.7:5000/nginx:1.21.1"])
		with data.kubernetes.validating.images as {}
	r.allowed == false
	r.uid == "uid-4"
	r.status.code == 403
	contains(r.status.message, "not loaded")
}

# --- audit: many reviews through the webhook's own entry point -------------------

audit_main(reviews) := m if {
	m := system.main with input as {"apiVersion": "bootstrap.opa-trusted-registry/v1", "kind": "AuditRequest", "reviews": reviews}
		with data.kubernetes.validating.images.settings.trusted_registries as ["10.0.0.7:5000"]
}

test_audit_answers_each_review_as_the_webhook_would if {
	reviews := [
		review("a", ["nginx:1.21.1"]),
		review("b", ["10.0.0.7:5000/nginx:1.21.1"]),
		review("c", ["10.0.0.7:5000/nginx", "10.0.0.7:5000//x"]),
	]
	m := audit_main(reviews)
	m.kind == "AuditResponse"
	m.responses == [main_for(r.request.uid, [c.image | some c in r.request.object.spec.containers]).response | some r in reviews]
	m.responses[0].status.message == "Image 'nginx:1.21.1' comes from untrusted registry"
	m.responses[1] == {"uid": "b", "allowed": true}
	m.responses[2].status.message == "Image '10.0.0.7:5000//x' is not a valid image reference, Image '10.0.0.7:5000/nginx' used latest image"
}

test_audit_empty if {
	audit_main([]).responses == []
}

test_admission_review_is_not_taken_for_an_audit if {
	# Only the exact apiVersion and kind make an audit; a review carrying "reviews" is still a review.
	inp := json.patch(review("u", ["nginx:1.21.1"]), [{"op": "add", "path": "/reviews", "value": []}])
	m := system.main with input as inp
		with data.kubernetes.validating.images.settings.trusted_registries as ["10.0.0.7:5000"]
	m.kind == "AdmissionReview"
	m.response.allowed == false
}

test_main_is_an_object_without_input if {
	# OPA's readiness (health.rego) needs it.
	is_object(system.main)
}
