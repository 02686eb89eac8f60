local kumo = require 'kumo'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook'
end)
