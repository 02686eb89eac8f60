// Package extras holds the Lua helper modules hookd bundles for policies, in
// the form lua.Options.Modules takes: module name to Lua source.
//
// policy-extras.log_hooks offers KumoMTA's documented helpers for log hooks:
// log_hooks:new{...} (a hook with a Lua constructor of your own),
// log_hooks:new_json{...} (a hook that POSTs each record's JSON to a URL) and
// log_hooks:new_disposition_hook{...} (when the engine has
// kumo.configure_log_disposition_hook).
package extras

import _ "embed"

//go:embed log_hooks.lua
var logHooks string

// Modules maps each bundled module's require name to its Lua source.
var Modules = map[string]string{
	"policy-extras.log_hooks": logHooks,
}
