local kumo = require 'kumo'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  msg:set_meta('queue', 'webhook')
  return true
end)

-- 'make.webhook' names a constructor that no kumo.on registers.
kumo.on('get_queue_config', function(domain) return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.webhook' } } } end)
