-- A log-hook policy in the KumoMTA webhook style: every Delivery, Bounce and
-- TransientFailure record is POSTed, as JSON, to a webhook. It runs unmodified
-- on KumoMTA and on hookd.
local kumo = require 'kumo'

-- Where records go. hookd's tests and demo set WEBHOOK_URL; fall back to a
-- local receiver (`hookd sink --listen 127.0.0.1:8081`).
local WEBHOOK_URL = os.getenv 'WEBHOOK_URL' or 'http://127.0.0.1:8081/events'
local HOOK = 'webhook'

kumo.on('init', function()
  kumo.configure_log_hook {
    name = HOOK,
    -- Copy these meta keys of the original message into each record.
    meta = { 'tenant', 'campaign' },
    headers = { 'Subject', 'X-*' },
    per_record = {
      Reception = { enable = false },
      Delayed = { enable = false },
    },
  }
end)

-- Keep only the records this hook is about, and route them to its queue.
kumo.on('should_enqueue_log_record', function(msg, hook_name)
  if hook_name ~= HOOK then
    return -- not ours: let the next handler decide
  end
  local record = msg:get_meta 'log_record'
  if record.reception_protocol == 'LogRecord' then
    return false -- never log about our own webhook deliveries
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
      retry_interval = '1m',
      max_retry_interval = '20m',
      protocol = { custom_lua = { constructor = 'make.webhook' } },
    }
  end
  -- other queues: no decision here
end)

kumo.on('make.webhook', function(domain, tenant, campaign)
  local client = kumo.http.build_client {}
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
      -- the receiver is struggling: try again later
      kumo.reject(400, disposition)
    end
    kumo.reject(500, disposition) -- anything else: give up on this record
  end

  function sender:close()
    client:close()
  end

  return sender
end)
