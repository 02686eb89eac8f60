local kumo = require 'kumo'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook' }
  kumo.configure_log_hook { name = 'audit' }
  kumo.configure_log_hook { name = 'webhook', meta = { 'tenant' } }
end)
