# Unit tests for health.rego (package system.health): ready only with the policy loaded.
package system.health_test

import data.system.health

test_not_ready_without_the_image_policy_settings if {
	not health.ready with data.kubernetes.validating.images.settings as {}
}

test_ready_with_settings_and_system_main if {
	health.ready with data.kubernetes.validating.images.settings.trusted_registries as ["10.0.0.7:5000"]
}
