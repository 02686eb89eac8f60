-- A policy with two runaway handlers, for hookd's end-to-end tests: the hook
-- loops forever on Feedback records, and the 'stuck' queue's send loops forever.
-- Delivery records go to the 'good' queue and must keep flowing.
local kumo = require 'kumo'

local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK' or 'http://127.0.0.1:9/unset'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if record.type == 'Feedback' then
    while true do end
  end
  if record.type == 'Bounce' then
    msg:set_meta('queue', 'stuck')
  else
    msg:set_meta('queue', 'good')
  end
  return true
end)

kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = domain == 'good' and '1s' or '1h',
    protocol = { custom_lua = { constructor = 'make.' .. domain } },
  }
end)

kumo.on('make.stuck', function()
  return {
    send = function(self, msg)
      while true do end
    end,
  }
end)

kumo.on('make.good', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local response = client:post(WEBHOOK_URL)
        :header('Content-Type', 'application/json')
        :body(msg:get_data())
        :send()
      if response:status_is_success() then
        return 'ok'
      end
      kumo.reject(400, 'retry')
    end,
  }
end)
