-- A log-hook policy for hookd's cluster tests, testdata/webhook.lua's twin: every Delivery, Bounce
-- and TransientFailure record is POSTed as JSON to the webhook named by HOOKD_TEST_WEBHOOK, but in
-- a queue per tenant (the tenant's name, e.g. "tenant-1"), with the member that delivers it in the
-- X-Hookd-Member header (HOOKD_TEST_MEMBER). The destination allows HOOKD_TEST_CONNECTIONS
-- connections (default 2).
local kumo = require 'kumo'

local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK' or 'http://127.0.0.1:9/unset'
local MEMBER = os.getenv 'HOOKD_TEST_MEMBER' or ''
local CONNECTIONS = tonumber(os.getenv 'HOOKD_TEST_CONNECTIONS' or '2')

kumo.on('init', function()
  kumo.configure_log_hook {
    name = 'webhook',
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
    per_record = { Reception = { enable = false }, Delayed = { enable = false } },
  }
end)

kumo.on('should_enqueue_log_record', function(msg)
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  if record.type == 'Delivery' or record.type == 'Bounce' or record.type == 'TransientFailure' then
    msg:set_meta('queue', msg:get_meta 'tenant' or 'no-tenant')
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config {
    retry_interval = '1s',
    max_retry_interval = '1s',
    protocol = { custom_lua = { constructor = 'make.webhook' } },
  }
end)

kumo.on('get_egress_path_config', function()
  return kumo.make_egress_path { connection_limit = CONNECTIONS }
end)

kumo.on('make.webhook', function()
  local client = kumo.http.build_client { timeout = '5s' }
  local sender = {}
  function sender:send(msg)
    local response = client:post(WEBHOOK_URL)
      :header('Content-Type', 'application/json')
      :header('X-Hookd-Member', MEMBER)
      :body(msg:get_data())
      :send()
    if response:status_is_success() then
      return 'ok'
    end
    kumo.reject(400, string.format('%d', response:status_code()))
  end
  function sender:close()
    client:close()
  end
  return sender
end)
