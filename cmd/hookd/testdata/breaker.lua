-- The end-to-end webhook policy with a circuit breaker tuned for a test: it
-- opens after 3 consecutive transient failures and stays open 2 seconds.
local kumo = require 'kumo'

local WEBHOOK_URL = os.getenv 'HOOKD_TEST_WEBHOOK' or 'http://127.0.0.1:9/unset'
local HOOK = 'webhook'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = HOOK,
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
    per_record = {
      Reception = { enable = false },
      Delayed = { enable = false },
    },
  }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK then
    return
  end
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false
  end
  if record.type == 'Delivery' or record.type == 'Bounce' or record.type == 'TransientFailure' then
    msg:set_meta('queue', 'webhook')
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain == 'webhook' then
    return kumo.make_queue_config {
      retry_interval = '1s',
      max_retry_interval = '1s',
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
end)

kumo.on('get_egress_path_config', function(routing_domain, egress_source, site_name)
  return kumo.make_egress_path {
    hookd_breaker_failures = 3,
    hookd_breaker_open_for = '2s',
    hookd_breaker_max_open_for = '2s',
  }
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client { timeout = '5s' }
  local sender = {}

  function sender:send(msg)
    local response = client:post(WEBHOOK_URL)
      :header('Content-Type', 'application/json')
      :body(msg:get_data())
      :send()
    local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
    if response:status_is_success() then
      return disposition
    end
    if response:status_is_server_error() or response:status_code() == 429 then
      kumo.reject(400, disposition)
    end
    kumo.reject(500, disposition)
  end

  function sender:close()
    client:close()
  end

  return sender
end)
