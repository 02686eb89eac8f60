-- A policy with a hook that builds about 1 GiB of tables for each Bounce record,
-- for hookd's end-to-end tests, beside a hook that delivers Delivery records to
-- the webhook and must keep doing so.
local kumo = require 'kumo'

local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK' or 'http://127.0.0.1:9/unset'

kumo.on('init', function()
  kumo.configure_log_hook { name = 'webhook' }
  kumo.configure_log_hook { name = 'hog' }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  local record = msg:get_meta 'log_record'
  if hook_name == 'hog' then
    if record.type == 'Bounce' then
      local t = {}
      for i = 1, 64 * 1024 * 1024 do
        t[i] = { i }
      end
    end
    return false
  end
  if record.type ~= 'Delivery' then
    return false
  end
  msg:set_meta('queue', 'good')
  return true
end)

kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = '1s',
    protocol = { custom_lua = { constructor = 'make.good' } },
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
