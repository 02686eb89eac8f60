local kumo = require 'kumo'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  msg:set_meta('queue', 'webhook')
  return true
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  -- a plain table, not kumo.make_queue_config{...}
  return { retry_interval = '1s' }
end)
