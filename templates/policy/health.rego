# OPA's readiness, GET /health/ready (evaluates data.system.health.ready).
#
# Ready only once kube-mgmt has loaded the image policy and the webhook's entry point, so that a new OPA pod
# (a rollout after a certificate renewal, say) takes webhook traffic only when it can answer it; until then the
# old pod keeps serving. Loaded by `opa run` from the opa-authz Secret, like the API authorization, because it
# must be in place before kube-mgmt loads anything.
package system.health

default ready := false

ready if {
	is_array(data.kubernetes.validating.images.settings.trusted_registries)
	is_object(data.system.main)
}
