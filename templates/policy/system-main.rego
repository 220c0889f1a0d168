# Webhook entry point: OPA answers `POST /` with data.system.main, so the
# apiserver's AdmissionReview (admission.k8s.io/v1) is `input` and the
# document below is the reply. The article's system.main (v1beta1, Rego v0)
# in Rego v1 and admission.k8s.io/v1:
#   - response.uid echoes input.request.uid ("" when absent),
#   - denied: allowed false, status {code 403, reason msg, message msg} where
#     msg = the deny messages, sorted, joined with ", " (kubectl prints
#     "Error from server (<reason>): ... denied the request: <message>"),
#   - otherwise allowed true.
# Fail closed: if the image policy is not loaded at all (deny undefined,
# e.g. its ConfigMap failed to load), the request is denied rather than
# silently allowed.
package system

import data.kubernetes.validating.images

main := {
	"apiVersion": audit_api_version,
	"kind": "AuditResponse",
	"responses": [r | some review in input.reviews; r := response with input as review],
} if {
	is_audit
} else := {
	"apiVersion": "admission.k8s.io/v1",
	"kind": "AdmissionReview",
	"response": response,
}

# `bootstrap audit` asks about many existing objects at once, through the same entry point the webhook uses
# (the only one open to clients without a token, and the only one the API server's service proxy can reach):
#   {"apiVersion": "bootstrap.opa-trusted-registry/v1", "kind": "AuditRequest", "reviews": [AdmissionReview, ...]}
# is answered with {"kind": "AuditResponse", "responses": [the response each review would get, in order]}:
# the same rules, the same messages, one round trip. kube-apiserver only ever sends kind AdmissionReview.
audit_api_version := "bootstrap.opa-trusted-registry/v1"

is_audit if {
	input.apiVersion == audit_api_version
	input.kind == "AuditRequest"
	is_array(input.reviews)
}

default uid := ""

uid := input.request.uid if is_string(input.request.uid)

default deny := {"Image policy is not loaded (data.kubernetes.validating.images.deny is undefined)"}

deny := images.deny if is_set(images.deny)

reason := concat(", ", sort(deny))

response := {
	"uid": uid,
	"allowed": false,
	"status": {
		"code": 403,
		"reason": reason,
		"message": reason,
	},
} if {
	count(deny) > 0
} else := {
	"uid": uid,
	"allowed": true,
}
