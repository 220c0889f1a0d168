# Unit tests for authz.rego.tmpl (package system.authz). The template is
# valid Rego before rendering: its placeholder is inside a string, so the
# unrendered token is the literal "{{ kubeMgmtToken }}" and these tests use
# data.system.authz.kube_mgmt_token rather than hard-coding it (in the
# rendered copy test/policy.test.ts writes, it is a random test token).
# Run, naming the template BEFORE the directory (OPA 1.22 ignores an explicit
# file under a directory named earlier):
#   opa test -v templates/policy/authz.rego.tmpl templates/policy
# Denials are asserted as `allow == false` (the default), not `not allow`, so
# that nothing here passes when the module is missing: a plain
# `opa test templates/policy` (template not named) fails these 6 tests.
# Input shape: see the comment at the top of authz.rego.tmpl (OPA docs,
# "Security" page; checked against opa 1.22.3 by test/policy.test.ts).
package system.authz_test

import data.system.authz

req(method, path) := {"method": method, "path": path, "params": {}, "headers": {}}

with_token(r, token) := object.union(r, {"identity": token})

test_token_is_not_empty if {
	authz.kube_mgmt_token != ""
}

test_anonymous_webhook_allowed if {
	authz.allow with input as req("POST", [""])
}

test_anonymous_health_allowed if {
	authz.allow with input as req("GET", ["health"])
	authz.allow with input as object.union(req("GET", ["health"]), {"params": {"plugins": [""], "bundle": [""]}})
	authz.allow with input as req("GET", ["health", "ready"])
}

test_anonymous_denied if {
	denied := [
		req("GET", ["v1", "policies"]),
		req("PUT", ["v1", "policies", "x"]),
		req("DELETE", ["v1", "policies", "x"]),
		req("GET", ["v1", "data"]),
		req("POST", ["v1", "data", "system", "main"]),
		req("PUT", ["v1", "data", "kubernetes"]),
		req("PATCH", ["v1", "data"]),
		req("GET", [""]),
		req("PUT", [""]),
		req("POST", ["health"]),
		req("GET", ["health", "live"]),
		req("POST", ["health", "ready"]),
		req("GET", ["metrics"]),
		req("POST", ["v1", "query"]),
		req("POST", ["v1", "compile"]),
		req("GET", ["v1", "config"]),
		req("GET", ["v1", "status"]),
	]
	every r in denied {
		authz.allow == false with input as r
	}
}

test_wrong_or_empty_token_denied if {
	t := authz.kube_mgmt_token
	wrong := {"", "wrong", concat("", [t, "x"]), substring(t, 1, -1)} | {u | u := upper(t); u != t}
	every token in wrong {
		authz.allow == false with input as with_token(req("GET", ["v1", "policies"]), token)
	}
}

test_token_allows_everything if {
	every r in [
		req("GET", ["v1", "policies"]),
		req("PUT", ["v1", "policies", "opa", "image-policy", "main"]),
		req("DELETE", ["v1", "policies", "x"]),
		req("PUT", ["v1", "data", "kubernetes", "pods"]),
		req("GET", ["v1", "data"]),
	] {
		authz.allow with input as with_token(r, authz.kube_mgmt_token)
	}
}
