-- The policy `hookd demo` runs: a log hook that POSTs every Delivery, Bounce
-- and TransientFailure record to a webhook, one record per request, retrying
-- when the webhook answers 5xx. The demo points WEBHOOK_URL at its built-in
-- receiver, which fails some requests on purpose so that retries show.
-- `hookd demo --cluster N` runs it on every member with QUEUES = 'per-tenant':
-- a queue per campaign and tenant ("newsletter:acme@demo.webhook", nine in
-- all), so that the members share the queues between them.
local kumo = require 'kumo'

local WEBHOOK_URL = '{{WEBHOOK_URL}}'
local QUEUES = '{{QUEUES}}' -- 'one' or 'per-tenant'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = 'demo',
    meta = { 'tenant', 'campaign' },
    per_record = { Reception = { enable = false } },
  }
end)

kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= 'demo' then
    return
  end
  local record = msg:get_meta 'log_record'
  if record.type == 'Delivery' or record.type == 'Bounce' or record.type == 'TransientFailure' then
    if QUEUES == 'per-tenant' then
      local campaign = msg:get_meta 'campaign' or 'none'
      local tenant = msg:get_meta 'tenant' or 'none'
      msg:set_meta('queue', campaign .. ':' .. tenant .. '@demo.webhook')
    else
      msg:set_meta('queue', 'demo.webhook')
    end
    return true
  end
  return false
end)

kumo.on('get_queue_config', function(domain)
  if domain == 'demo.webhook' then
    return kumo.make_queue_config {
      retry_interval = '1s', -- short, so that the demo shows retries
      max_retry_interval = '4s',
      protocol = { custom_lua = { constructor = 'make.demo.webhook' } },
    }
  end
end)

kumo.on('make.demo.webhook', function()
  local client = kumo.http.build_client { timeout = '5s' }
  return {
    send = function(self, msg)
      local response = client:post(WEBHOOK_URL)
        :header('Content-Type', 'application/json')
        :body(msg:get_data())
        :send()
      local disposition = string.format('%d %s', response:status_code(), response:status_reason() or '')
      if response:status_is_success() then
        return disposition
      end
      if response:status_is_server_error() then
        kumo.reject(400, disposition) -- retried with backoff
      end
      kumo.reject(500, disposition) -- bounced
    end,
    close = function(self)
      client:close()
    end,
  }
end)
